#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: Debian's Chromium and ChromeDriver
# for the browser tests (the tests drive /usr/bin/chromium through Playwright; nothing is
# downloaded by Playwright itself). Safe to re-run.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
/usr/bin/chromium --version
