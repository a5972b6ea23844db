#!/usr/bin/env bash
# Install what the integration tests need: Dovecot's IMAP server (Debian package dovecot-imapd)
# for the IMAP tests; strace (package strace) and systemd-analyze (package systemd) for the
# service tests (tests/service.rs: the system calls of a real run against the unit's filter,
# `systemd-analyze verify` and `security` of the unit); Chromium (chromium) for the web
# console's browser test and promtool (prometheus) to check /metrics. Idempotent and
# non-interactive; does nothing when every tool is present.
set -eu
# command → Debian package
TOOLS="dovecot:dovecot-imapd doveadm:dovecot-imapd strace:strace systemd-analyze:systemd chromium:chromium promtool:prometheus"
missing() {
  local t pkgs=""
  for t in $TOOLS; do
    command -v "${t%%:*}" >/dev/null 2>&1 || pkgs="$pkgs ${t#*:}"
  done
  printf '%s\n' $pkgs | sort -u | tr '\n' ' '
}
[ -z "$(missing | tr -d ' ')" ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-test-deps: missing packages ($(missing)) and we are not root; install them" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Serialize concurrent callers (tests run in parallel).
exec 9>/tmp/inmail-install-test-deps.lock
flock 9
PKGS=$(missing)
if [ -z "$(printf '%s' "$PKGS" | tr -d ' ')" ]; then exit 0; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
# The package's own instance is not wanted: tests start private ones.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now dovecot >/dev/null 2>&1 || true
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
[ -z "$(missing | tr -d ' ')" ]
