#!/bin/sh
# Renders claimline-load's HTML reports in headless Chromium (Debian's `chromium`, installed
# when missing) and writes a PNG beside each, to look at what a tester will see:
#   tools/bench/screenshot.sh bench-results/*.html
set -eu
command -v chromium >/dev/null 2>&1 || {
  echo "installing chromium ..." >&2
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
}
for page in "$@"; do
  png="${page%.html}.png"
  timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1000,2600 \
    --screenshot="$png" "file://$(realpath "$page")" > /dev/null 2>&1
  echo "$png"
done
