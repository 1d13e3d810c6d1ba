#!/usr/bin/env bash
# Benchmark: builds woosync in release mode, sets MariaDB's buffer pool, generates a shop of
# N products and times woosync on it (see src/bin/bench.rs for the scenarios).
#   bash scripts/bench.sh [PRODUCTS] [BUFFER_POOL_MiB]      e.g. bash scripts/bench.sh 200000 2048
set -euo pipefail
cd "$(dirname "$0")/.."
products="${1:-200000}"
pool_mib="${2:-2048}"
url="$(bash scripts/test-db.sh)"
mariadb --protocol=socket -e "GRANT ALL PRIVILEGES ON \`woosync\\_bench\\_%\`.* TO 'woosync_test'@'127.0.0.1'" 
mariadb --protocol=socket -e "SET GLOBAL innodb_buffer_pool_size = $((pool_mib * 1024 * 1024))"
sleep 2
cargo build --release --locked --bins
./target/release/woosync-bench --url "$url" --products "$products" ${BENCH_ARGS:-}
