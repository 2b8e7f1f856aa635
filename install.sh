#!/bin/sh
# Installs a released rolecall binary, verified.
#
#   install.sh [--version VERSION] [--to DIR] [--cache DIR]
#
# Picks the archive for this OS and architecture, downloads it and the
# release's SHA256SUMS, checks the archive's SHA-256 against its line there,
# and only then installs `rolecall` into DIR (default: $HOME/.local/bin) and
# prints its version. Anything amiss (no build for this platform, no line
# for the archive, a checksum that differs, a download that fails, a binary
# that does not run) stops it with a message, and nothing is installed.
# With --cache DIR, archives are kept in DIR and reused, each checked again
# against the release's SHA256SUMS, downloaded anew every time.
#
# Environment:
#   ROLECALL_VERSION       the version when --version is not given
#   ROLECALL_DOWNLOAD_URL  where releases are (default: GitHub's), for
#                          mirrors, self-hosted builds and tests:
#                          BASE/vVERSION/ARCHIVE; BASE is a URL (https://,
#                          file://) or an absolute folder path
#
# It writes only regular files of its own: a link where it writes (in the
# --to or --cache directory) is removed first, never written through.
#
# For more than a checksum (who built the archive, from which commit), verify
# its build provenance: `gh attestation verify ARCHIVE --repo rolecall/rolecall`.
set -eu

version="${ROLECALL_VERSION:-0.1.0}"
to="${HOME:+$HOME/.local/bin}"
cache=""
base="${ROLECALL_DOWNLOAD_URL:-https://github.com/rolecall/rolecall/releases/download}"

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --version)
      [ $# -ge 2 ] || fail "--version needs a value, e.g. --version 0.1.0"
      version="$2"
      shift 2
      ;;
    --to)
      [ $# -ge 2 ] || fail "--to needs a directory"
      to="$2"
      shift 2
      ;;
    --cache)
      [ $# -ge 2 ] || fail "--cache needs a directory"
      cache="$2"
      shift 2
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) fail "unknown argument '$1' (usage: install.sh [--version VERSION] [--to DIR] [--cache DIR])" ;;
  esac
done

case "$base" in
  /* | http://* | https://* | file://*) ;;
  *) fail "ROLECALL_DOWNLOAD_URL must be a URL (https://, file://) or an absolute folder path, not '$base'" ;;
esac
version="${version#v}"
case "$version" in
  "" | *[!0-9A-Za-z.+-]*) fail "'$version' is not a version (write e.g. 0.1.0)" ;;
esac
[ -n "$to" ] || fail "no directory to install into: HOME is not set; give --to DIR"

download() {
  # $1: URL or absolute path, $2: file. Fails on any HTTP error.
  case "$1" in
    /*)
      cp -- "$1" "$2"
      return
      ;;
  esac
  if command -v curl > /dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
  elif command -v wget > /dev/null 2>&1; then
    wget --quiet --tries=3 --output-document="$2" "$1"
  else
    fail "neither curl nor wget is installed"
  fi
}

# A link at $1 is removed (mv onto a link to a folder would move into that
# folder); a folder there fails.
unlink_at() {
  if [ -L "$1" ]; then
    rm -f -- "$1"
  elif [ -d "$1" ]; then
    return 1
  fi
}

sha256() {
  if command -v sha256sum > /dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum > /dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "neither sha256sum nor shasum is installed: cannot verify the download"
  fi
}

os=$(uname -s)
arch=$(uname -m)
case "$arch" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no rolecall build for the architecture '$arch' (there are x86_64 and aarch64)" ;;
esac
case "$os" in
  Linux) targets="$arch-unknown-linux-musl $arch-unknown-linux-gnu" ext=tar.gz ;;
  Darwin) targets="$arch-apple-darwin" ext=tar.gz ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT)
    [ "$arch" = x86_64 ] || fail "no rolecall build for Windows on '$arch'"
    targets="x86_64-pc-windows-msvc" ext=zip
    ;;
  *) fail "no rolecall build for the OS '$os' (there are Linux, macOS and Windows)" ;;
esac

tmp=$(mktemp -d 2> /dev/null || mktemp -d -t rolecall)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

url="$base/v$version"
download "$url/SHA256SUMS" "$tmp/SHA256SUMS" ||
  fail "cannot download $url/SHA256SUMS (is $version a released version?)"

# The first target listed in SHA256SUMS: musl before gnu on Linux. Lines
# may end in CR; a name listed twice with two checksums is refused.
archive="" expected=""
for target in $targets; do
  name="rolecall-$version-$target.$ext"
  sums=$(awk -v name="$name" '{ sub(/\r$/, "") } $2 == name || $2 == "*" name { print $1 }' "$tmp/SHA256SUMS" | sort -u)
  if [ -n "$sums" ]; then
    [ "$(printf '%s\n' "$sums" | wc -l)" -eq 1 ] || fail "SHA256SUMS gives $name two checksums: not installed"
    archive="$name" expected="$sums" dir="rolecall-$version-$target"
    break
  fi
done
[ -n "$archive" ] || fail "SHA256SUMS of $version lists no archive for $os $arch (looked for: $targets)"
case "$expected" in
  *[!0-9a-f]* | "") fail "SHA256SUMS has no valid checksum for $archive" ;;
esac
[ ${#expected} -eq 64 ] || fail "SHA256SUMS has no valid checksum for $archive"

# A cached archive is used only if it still has the checksum of this
# SHA256SUMS; else it is downloaded again.
actual=""
if [ -n "$cache" ] && [ -f "$cache/$archive" ]; then
  cp -- "$cache/$archive" "$tmp/$archive"
  actual=$(sha256 "$tmp/$archive")
fi
if [ "$actual" != "$expected" ]; then
  download "$url/$archive" "$tmp/$archive" || fail "cannot download $url/$archive"
  actual=$(sha256 "$tmp/$archive")
fi
if [ "$actual" != "$expected" ]; then
  fail "the checksum of $archive is $actual, SHA256SUMS says $expected: not installed"
fi
# Written beside and renamed, after removing any link there.
if [ -n "$cache" ]; then
  {
    mkdir -p -- "$cache" && rm -f -- "$cache/.$archive.new" &&
      cp -- "$tmp/$archive" "$cache/.$archive.new" && unlink_at "$cache/$archive" &&
      mv -f -- "$cache/.$archive.new" "$cache/$archive"
  } 2> /dev/null || echo "note: cannot keep $archive in $cache" >&2
fi

mkdir "$tmp/x"
case "$ext" in
  tar.gz) tar -xzf "$tmp/$archive" -C "$tmp/x" ;;
  zip) unzip -q "$tmp/$archive" -d "$tmp/x" ;;
esac
bin="rolecall"
[ "$ext" = zip ] && bin="rolecall.exe"
new="$tmp/x/$dir/$bin"
# The folder and the binary themselves, never links out of the archive.
if [ ! -d "$tmp/x/$dir" ] || [ -L "$tmp/x/$dir" ] || [ ! -f "$new" ] || [ -L "$new" ]; then
  fail "$archive does not hold the file $dir/$bin"
fi
# It must run here before it replaces anything.
chmod 755 "$new"
installed_version=$("$new" --version 2> /dev/null) || fail "$dir/$bin does not run on this machine: not installed"

mkdir -p -- "$to" 2> /dev/null || fail "cannot create the directory $to (choose another with --to DIR)"
# Copied beside, then renamed: a running rolecall is never half-written, and
# a link at either name is replaced, never written through.
rm -f -- "$to/.$bin.new" 2> /dev/null || fail "cannot write into $to (choose another with --to DIR)"
cp -- "$new" "$to/.$bin.new" 2> /dev/null || fail "cannot write into $to (choose another with --to DIR)"
chmod 755 -- "$to/.$bin.new"
unlink_at "$to/$bin" || fail "$to/$bin is a directory: not installed (choose another --to DIR)"
mv -f -- "$to/.$bin.new" "$to/$bin"
echo "installed $to/$bin ($archive, sha256 $actual)"
echo "$installed_version"
case ":${PATH:-}:" in
  *":$to:"*) ;;
  *) echo "note: $to is not on PATH" ;;
esac
