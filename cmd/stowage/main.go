// Command stowage browses, triages and redrives the requests of a storage-first API.
package main

import "github.com/stowage-cli/stowage/internal/cli"

func main() { cli.Main() }
