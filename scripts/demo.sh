#!/usr/bin/env bash
# Demo, end to end: provisions a local demo shop (database woosync_demo, from sql/), then runs a
# dry run with a diff report, a real sync, a second sync that finds nothing to do, and `status`.
set -euo pipefail
cd "$(dirname "$0")/.."
server="$(bash scripts/test-db.sh)"
mariadb --protocol=socket -e "GRANT ALL PRIVILEGES ON \`woosync\\_demo\`.* TO 'woosync_test'@'127.0.0.1'"
cargo build --release --locked --bins
./target/release/woosync-bench --url "$server" --demo
export WOOSYNC_DATABASE_URL="$server/woosync_demo"
mkdir -p demo
woosync=./target/release/woosync

echo; echo "== 1. dry run: nothing is written; the diff goes to demo/dry-run.csv"
$woosync sync --config config/demo.toml --dry-run --report demo/dry-run.csv
head -40 demo/dry-run.csv

echo; echo "== 2. the real sync (report in demo/report.csv)"
$woosync sync --config config/demo.toml --report demo/report.csv

echo; echo "== 3. the same feed again: nothing left to write"
$woosync sync --config config/demo.toml

echo; echo "== 4. run history"
$woosync status --config config/demo.toml

echo; echo "== the shop now (products and variations)"
mariadb --protocol=socket woosync_demo -e "
  SELECT p.ID, p.post_type, p.post_status, l.sku, l.min_price, l.max_price, l.onsale, l.stock_quantity, l.stock_status
  FROM wp_posts p JOIN wp_wc_product_meta_lookup l ON l.product_id = p.ID ORDER BY p.ID"
