#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: everything it needs is installed here.
# This is the README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# A one-off build gains nothing from incremental state, which would double the target's size.
export CARGO_INCREMENTAL=0

echo "== Proto: buf lint (Google AIP-style STANDARD rules and COMMENTS), buf from the npm registry"
if [ ! -x .tools/node_modules/.bin/buf ]; then
    npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@1.75.0 >/dev/null
fi
.tools/node_modules/.bin/buf lint

echo "== Rust: formatting, lints (clippy's pedantic set, see [workspace.lints]) and docs"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "== PostgreSQL: a throw-away cluster for the PgStore tests (scripts/postgres.sh)"
# Sourced: the cluster lives until this script exits, and COMPLAINTFLOW_TEST_POSTGRES
# reaches `cargo test`.
source scripts/postgres.sh

echo "== Rust: unit, integration, crash, property and end-to-end tests of every crate"
cargo test --workspace --locked

# ---- Python end-to-end suite (tests/e2e_python) -------------------------------------
# Drives the real binary through Python's grpcio: a client this project did not write.
echo "== Python: end-to-end gRPC tests against the complaintflow binary"
if [ ! -x .venv-e2e/bin/python ]; then
    python3 -m venv .venv-e2e
fi
# With the client package (clients/python), which the suite uses for its stubs and client:
# built from this checkout's protos every run, in one resolution with the pinned versions.
.venv-e2e/bin/python -m pip install -q --disable-pip-version-check -r tests/e2e_python/requirements.txt ./clients/python
# `cargo test` above built the binary (the server tests run it); build it only if it is missing.
[ -x target/debug/complaintflow ] || cargo build --locked --bin complaintflow
COMPLAINTFLOW_BIN=target/debug/complaintflow .venv-e2e/bin/python -m pytest -q tests/e2e_python
# ---- end of the Python end-to-end suite ----------------------------------------------

# ---- Browser test of the web console (tests/browser) ---------------------------------
# Debian's headless Chromium, driven by selenium, on a server with `demo` data.
echo "== Browser: the web console in headless Chromium (selenium)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null ||
    [ ! -d /usr/share/fonts/opentype/noto ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi
if [ ! -x .venv-browser/bin/python ]; then
    python3 -m venv .venv-browser
fi
.venv-browser/bin/python -m pip install -q --disable-pip-version-check -r tests/browser/requirements.txt
# Screenshots land in a scratch directory here; the committed ones in docs/screenshots
# are refreshed by running the test without CONSOLE_SCREENSHOTS.
screenshots="$(mktemp -d)"
CONSOLE_SCREENSHOTS="$screenshots" COMPLAINTFLOW_BIN=target/debug/complaintflow \
    .venv-browser/bin/python -m pytest -q tests/browser
rm -rf "$screenshots"
# ---- end of the browser test ----------------------------------------------------------
