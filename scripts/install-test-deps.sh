#!/usr/bin/env bash
# Install what the IMAP integration tests need: Dovecot's IMAP server (Debian package
# dovecot-imapd). Idempotent and non-interactive; does nothing when `dovecot` is present.
set -eu
if command -v dovecot >/dev/null 2>&1 && command -v doveadm >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-test-deps: dovecot is missing and we are not root; install dovecot-imapd" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Serialize concurrent callers (tests run in parallel).
exec 9>/tmp/inmail-install-test-deps.lock
flock 9
if command -v dovecot >/dev/null 2>&1; then exit 0; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
# The package's own instance is not wanted: tests start private ones.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now dovecot >/dev/null 2>&1 || true; fi
command -v dovecot >/dev/null
