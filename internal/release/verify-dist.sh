#!/usr/bin/env bash
# Checks what `goreleaser release --snapshot` left in dist/: every archive, the checksums,
# the Homebrew cask, and that the linux/amd64 binary reports the snapshot version.
set -euo pipefail
dist=${1:-dist}
fail() { echo "release-check: $*" >&2; exit 1; }

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$dist/metadata.json" | head -n1)
[ -n "$version" ] || fail "no version in $dist/metadata.json"

for os in linux darwin; do
  for arch in amd64 arm64; do
    f="$dist/stowage_${version}_${os}_${arch}.tar.gz"
    [ -s "$f" ] || fail "missing archive $f"
  done
done
for arch in amd64 arm64; do
  f="$dist/stowage_${version}_windows_${arch}.zip"
  [ -s "$f" ] || fail "missing archive $f"
done
[ -s "$dist/checksums.txt" ] || fail "missing $dist/checksums.txt"
[ "$(wc -l < "$dist/checksums.txt")" -ge 6 ] || fail "checksums.txt lists fewer than 6 archives"

cask="$dist/homebrew/Casks/stowage.rb"
[ -s "$cask" ] || fail "missing Homebrew cask $cask"
grep -q 'com.apple.quarantine' "$cask" || fail "the cask has no quarantine hook"
grep -q "version \"$version\"" "$cask" || fail "the cask does not carry version $version"

bin=$(ls "$dist"/stowage_linux_amd64*/stowage 2>/dev/null | head -n1)
[ -x "$bin" ] || fail "no linux/amd64 binary under $dist"
out=$("$bin" version)
echo "$out"
grep -qF "$version" <<<"$out" || fail "stowage version does not print the snapshot version $version"
echo "release-check: ok ($version: 6 archives, checksums, cask, version stamp)"
