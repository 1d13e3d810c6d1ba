#!/usr/bin/env bash
# The test command: brings up MariaDB with a TCP test login (installing/starting it if needed)
# and runs every test against it. Each test makes its own throw-away database.
set -euo pipefail
cd "$(dirname "$0")/.."
WOOSYNC_TEST_DATABASE_URL="$(bash scripts/test-db.sh)"
export WOOSYNC_TEST_DATABASE_URL
cargo test --locked --all-targets 2>&1
