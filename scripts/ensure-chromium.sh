#!/usr/bin/env bash
# Playwright drives Debian's chromium (never a downloaded browser: see docs TOOLCHAIN). Makes sure it
# exists, installing it when we are root, and prints its path.
set -euo pipefail

find_chromium() {
  if [[ -x /usr/bin/chromium ]]; then echo /usr/bin/chromium; else command -v chromium || true; fi
}

path=$(find_chromium)
if [[ -z $path ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "chromium not found: install Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
  echo "ensure-chromium: installing Debian's chromium with apt-get" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  path=$(find_chromium)
  if [[ -z $path ]]; then
    echo "ensure-chromium: apt-get finished but chromium is still missing" >&2
    exit 1
  fi
fi
echo "$path"
