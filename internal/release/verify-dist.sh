#!/usr/bin/env bash
# Checks what `goreleaser release --snapshot` left in dist/ (issue 17's rows): every
# archive carries the binary, LICENSE, README, the completion scripts and the man pages;
# each archive has an SBOM; the Homebrew cask declares the license and installs the
# completions and man pages; the deb, rpm and apk packages hold the binary, completions,
# man pages and LICENSE in their standard paths; checksums.txt covers it all; the linux
# binary reports the snapshot version. Last, it builds a second snapshot of the same
# commit ($GORELEASER, as make release-check passes it) and requires identical checksums.
#
# Archives and packages are listed with internal/release/pkgls (Go), so no rpm, dpkg or
# unzip is needed; where dpkg-deb exists (Debian CI) it cross-checks the deb listing.
set -euo pipefail
dist=${1:-dist}
GO=${GO:-go}
fail() { echo "release-check: $*" >&2; exit 1; }
cd "$(dirname "$0")/../.."
generated=internal/release/generated

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$dist/metadata.json" | head -n1)
[ -n "$version" ] || fail "no version in $dist/metadata.json"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO build -o "$tmp/pkgls" ./internal/release/pkgls

completions=(stowage.bash _stowage stowage.fish stowage.ps1)
manpages=() # no mapfile: macOS still ships bash 3.2
while IFS= read -r m; do manpages+=("$m"); done < <(cd "$generated/manpages" && ls)
[ "${#manpages[@]}" -ge 2 ] || fail "no man pages in $generated/manpages (the before hook did not run?)"
[[ " ${manpages[*]} " == *" stowage.1.gz "* ]] || fail "no stowage.1.gz among the man pages"

# has LIST PATH: the listing contains PATH.
has() { grep -qxF "$2" "$1" || fail "$(basename "$1" .lst) lacks $2"; }

archives=0
for os in linux darwin windows; do
  for arch in amd64 arm64; do
    ext=tar.gz bin=stowage
    [ "$os" = windows ] && ext=zip bin=stowage.exe
    f="$dist/stowage_${version}_${os}_${arch}.$ext"
    [ -s "$f" ] || fail "missing archive $f"
    lst="$tmp/$(basename "$f").lst"
    "$tmp/pkgls" "$f" > "$lst"
    for p in "$bin" LICENSE README.md; do has "$lst" "/$p"; done
    for c in "${completions[@]}"; do has "$lst" "/completions/$c"; done
    for m in "${manpages[@]}"; do has "$lst" "/manpages/$m"; done
    sbom="$f.cdx.json"
    [ -s "$sbom" ] || fail "missing SBOM $sbom"
    grep -q '"bomFormat": *"CycloneDX"' "$sbom" || fail "$sbom is not a CycloneDX document"
    grep -q 'github.com/stowage-cli/stowage' "$sbom" || fail "$sbom does not describe stowage"
    archives=$((archives + 1))
done; done

cask="$dist/homebrew/Casks/stowage.rb"
[ -s "$cask" ] || fail "missing Homebrew cask $cask"
grep -q 'com.apple.quarantine' "$cask" || fail "the cask has no quarantine hook"
grep -q "version \"$version\"" "$cask" || fail "the cask does not carry version $version"
grep -q 'License: Apache-2.0' "$cask" || fail "the cask does not declare the license"
for stanza in 'bash_completion "completions/stowage.bash"' 'zsh_completion "completions/_stowage"' \
  'fish_completion "completions/stowage.fish"'; do
  grep -qF "$stanza" "$cask" || fail "the cask lacks: $stanza"
done
for m in "${manpages[@]}"; do
  grep -qF "manpage \"manpages/$m\"" "$cask" || fail "the cask does not install manpages/$m"
done

packages=0
for format in deb rpm apk; do
  zsh=/usr/share/zsh/site-functions/_stowage
  [ "$format" = deb ] && zsh=/usr/share/zsh/vendor-completions/_stowage
  for arch in amd64 arm64; do
    f="$dist/stowage_${version}_linux_${arch}.$format"
    [ -s "$f" ] || fail "missing $format package $f"
    lst="$tmp/$(basename "$f").lst"
    "$tmp/pkgls" "$f" > "$lst"
    for p in /usr/bin/stowage /usr/share/doc/stowage/LICENSE /usr/share/bash-completion/completions/stowage \
      "$zsh" /usr/share/fish/vendor_completions.d/stowage.fish; do
      has "$lst" "$p"
    done
    for m in "${manpages[@]}"; do has "$lst" "/usr/share/man/man1/$m"; done
    if [ "$format" = deb ] && command -v dpkg-deb >/dev/null; then
      # A second reader of the same package: pkgls must agree with dpkg.
      dpkg-deb --fsys-tarfile "$f" | tar -t | grep -v '/$' | sed 's|^\./|/|' | sort > "$tmp/dpkg.lst"
      sort "$lst" | diff -u "$tmp/dpkg.lst" - >&2 || fail "pkgls and dpkg-deb list $f differently"
    fi
    packages=$((packages + 1))
done; done

[ -s "$dist/checksums.txt" ] || fail "missing $dist/checksums.txt"
for f in "$dist"/stowage_*.tar.gz "$dist"/stowage_*.zip "$dist"/*.deb "$dist"/*.rpm "$dist"/*.apk "$dist"/*.cdx.json; do
  grep -q " $(basename "$f")\$" "$dist/checksums.txt" || fail "checksums.txt does not list $(basename "$f")"
done

bin=$(ls "$dist"/stowage_linux_amd64*/stowage 2>/dev/null | head -n1)
[ -x "$bin" ] || fail "no linux/amd64 binary under $dist"
out=$("$bin" version)
echo "$out"
grep -qF "$version" <<<"$out" || fail "stowage version does not print the snapshot version $version"
[ "$("$bin" --version)" = "$out" ] || fail "stowage --version and stowage version differ"

# Reproducible: a second snapshot of the same commit gives byte-identical artifacts.
[ -n "${GORELEASER:-}" ] || fail "set GORELEASER to the goreleaser binary (make release-check does) to check reproducibility"
cp "$dist/checksums.txt" "$tmp/first-checksums.txt"
# As if from another checkout: the shipped files get new times, which must not show.
touch LICENSE README.md
echo "release-check: building a second snapshot to compare checksums (log: $tmp/second.log)"
if ! HOMEBREW_TAP_GITHUB_TOKEN=unused-in-snapshot GOFLAGS= "$GORELEASER" release --snapshot --clean --skip=publish \
  --parallelism 2 > "$tmp/second.log" 2>&1; then
  tail -n 30 "$tmp/second.log" >&2
  fail "the second snapshot build failed"
fi
if ! diff -u "$tmp/first-checksums.txt" "$dist/checksums.txt" >&2; then
  fail "two snapshot builds of one commit differ (lines above); the files differ in the archives or packages listed"
fi
echo "release-check: ok ($version: $archives archives with LICENSE, completions and ${#manpages[@]} man pages," \
  "$archives SBOMs, cask, $packages packages, version stamp, reproducible checksums)"
