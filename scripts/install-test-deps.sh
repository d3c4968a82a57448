#!/bin/sh
# Installs the Debian packages some tests drive, when they are missing: Chromium (the demo page
# in a real browser, with an emoji font so its screenshot shows the posts' status emoji),
# systemd (systemd-analyze verifies the shipped unit) and binutils (readelf measures the release
# binary's glibc floor). Only as root, and quietly; otherwise the
# tests that need them skip and say why. Prints one line.
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v readelf >/dev/null 2>&1 || missing="$missing binutils"
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$missing fonts-noto-color-emoji"

if [ -z "$missing" ]; then
  echo "install-test-deps: chromium, its emoji font, systemd-analyze and readelf present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing:$missing (not root or no apt-get; the tests that need them skip)"
  exit 0
fi
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1; then
  echo "install-test-deps: installed$missing"
else
  echo "install-test-deps: could not install$missing (the tests that need them skip); apt said:"
  tail -n 5 "$log"
fi
rm -f "$log"
