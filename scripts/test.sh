#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Dovecot for the IMAP
# tests), then runs every unit and integration test, and the tests of the patched async-imap.
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
# The patched async-imap's own tests (vendor/async-imap/PATCHED.md), with the lock file it was
# published with: it is a path dependency, so the suite above does not run them.
cargo test --locked --manifest-path vendor/async-imap/Cargo.toml --target-dir target/vendor-async-imap \
  --no-default-features --features runtime-tokio --lib
