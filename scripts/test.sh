#!/usr/bin/env bash
# The test command: brings up MariaDB with a TCP test login and Redis (installing/starting them
# if needed) and runs every test against them. Each test makes its own throw-away database and
# uses a Redis key prefix of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
WOOSYNC_TEST_DATABASE_URL="$(bash scripts/test-db.sh)"
export WOOSYNC_TEST_DATABASE_URL
WOOSYNC_TEST_REDIS_URL="$(bash scripts/test-redis.sh)"
export WOOSYNC_TEST_REDIS_URL
cargo test --locked --all-targets 2>&1
