#!/bin/bash
# `gh` and `curl` in the recipe tests: each call is sent to the fake forge
# server (fake_forge.py --serve, on 127.0.0.1:$FAKE_FORGE_PORT) and its
# answer printed: stderr, stdout, and its exit code. A URL on 127.0.0.1 (a
# release served for the install step) goes to the real curl, the next one
# on PATH.
tool=${0##*/}
if [ "$tool" = curl ]; then
  for arg in "$@"; do
    case "$arg" in
      http://127.0.0.1:*)
        IFS=: read -ra dirs <<< "$PATH"
        for dir in "${dirs[@]}"; do
          if [ -n "$dir" ] && [ "$dir" != "${0%/*}" ] && [ -x "$dir/curl" ]; then
            exec "$dir/curl" "$@"
          fi
        done
        echo "fake curl: no real curl on PATH" >&2
        exit 2
        ;;
    esac
  done
fi
exec 3<> "/dev/tcp/127.0.0.1/$FAKE_FORGE_PORT" || exit 99
# The call: the tool, this directory, the counts of arguments and of
# environment entries, the arguments, the environment (jq reads `$ENV`).
names=()
while IFS= read -r name; do names+=("$name"); done < <(compgen -e)
{
  printf '%s\0' "$tool" "$PWD" "$#" "${#names[@]}"
  if [ $# -gt 0 ]; then printf '%s\0' "$@"; fi
  for name in "${names[@]}"; do printf '%s=%s\0' "$name" "${!name}"; done
} >&3
IFS= read -r code <&3
IFS= read -r err <&3
if [ -n "$err" ]; then printf '%b\n' "$err" >&2; fi
# The answer, read by bash itself (no `cat` to start for each of the
# hundreds of calls a suite makes); answers hold no NUL.
IFS= read -r -d '' out <&3
printf '%s' "$out"
exit "${code:-99}"
