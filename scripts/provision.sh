#!/usr/bin/env bash
# Install the Debian packages the tests need (lists in scripts/packages/*.txt, one package a
# line). Runs as `npm test`'s pretest. As root with apt-get it installs what is missing;
# otherwise it names exactly what is missing and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for list in scripts/packages/*.txt; do
  [ -f "$list" ] || continue
  while read -r pkg _; do
    [ -z "$pkg" ] && continue
    case "$pkg" in \#*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then missing+=("$pkg"); fi
  done < "$list"
done
[ ${#missing[@]} -eq 0 ] && exit 0
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "provision: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "provision: the tests need these Debian packages, which are missing: ${missing[*]}" >&2
  echo "provision: install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
