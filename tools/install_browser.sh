#!/usr/bin/env bash
# Make sure the browser test of the web demo (tests/test_web_demo.py) has a
# Chromium to drive: MASKCLIPPP_CHROMIUM, or Debian's chromium package.
#
# Nothing to do when one is there. Otherwise, as root on Debian/Ubuntu, the
# chromium package is installed with apt-get (Playwright's own browser
# download is not used: it needs a host that is often unreachable). Anyone
# else gets a message saying how to install it, and a non-zero exit.
set -euo pipefail

if [ -n "${MASKCLIPPP_CHROMIUM:-}" ]; then
    if [ -x "$MASKCLIPPP_CHROMIUM" ]; then exit 0; fi
    echo "[install_browser] error: MASKCLIPPP_CHROMIUM=$MASKCLIPPP_CHROMIUM" \
        "is not an executable" >&2
    exit 1
fi
if command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[install_browser] installing Chromium (Debian package chromium)" \
        "for the web demo's browser test"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    command -v chromium >/dev/null 2>&1 && exit 0
    echo "[install_browser] error: apt-get installed no chromium" >&2
    exit 1
fi
cat >&2 <<'MSG'
[install_browser] error: the web demo's browser test needs Chromium, and
this script installs it only as root with apt-get. Install it yourself:
    sudo apt-get install chromium        (Debian; chromium-browser on Ubuntu)
or point MASKCLIPPP_CHROMIUM at a Chrome or Chromium executable.
MSG
exit 1
