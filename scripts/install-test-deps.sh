#!/usr/bin/env bash
# Install what the integration tests need: Dovecot's IMAP server (Debian package dovecot-imapd)
# for the IMAP tests, Chromium (chromium) for the web console's browser test, promtool
# (prometheus) to check /metrics. Idempotent and non-interactive; does nothing when all are present.
set -eu
missing() {
  local need=""
  command -v dovecot >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1 || need="$need dovecot-imapd"
  command -v chromium >/dev/null 2>&1 || need="$need chromium"
  command -v promtool >/dev/null 2>&1 || need="$need prometheus"
  echo "$need"
}
if [ -z "$(missing)" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-test-deps: missing$(missing) and we are not root; install them" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Serialize concurrent callers (tests run in parallel).
exec 9>/tmp/inmail-install-test-deps.lock
flock 9
NEED="$(missing)"
if [ -z "$NEED" ]; then exit 0; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $NEED >/dev/null
# The packages' own services are not wanted: tests start private instances.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now dovecot >/dev/null 2>&1 || true
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
[ -z "$(missing)" ]
