#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Dovecot for the IMAP
# tests), then runs every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/install-test-deps.sh ]; then
  scripts/install-test-deps.sh
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
