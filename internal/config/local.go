package config

// IsLoopbackURL reports whether s is an http(s) URL on localhost or a loopback address: the
// one meaning of "on this machine", for local_credentials here and for local stacks in
// awsclient (which then never asks AWS STS who the caller is).
func IsLoopbackURL(s string) bool { return isLoopbackURL(s) }
