#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: everything it needs is installed here.
# This is the README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: unit, integration, crash and property tests"
cargo test --locked
