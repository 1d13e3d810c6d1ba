#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379: installs redis-server with apt-get if it is
# absent, starts it (keeping nothing on disk) if it is down. Prints its URL for
# WOOSYNC_TEST_REDIS_URL on stdout; everything else goes to stderr. Tests use key prefixes of
# their own and never flush.
set -euo pipefail

log() { echo "test-redis: $*" >&2; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "Redis is not installed; installing it with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "Redis is not answering; starting it"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >&2
fi
for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { log "Redis did not come up in 30 s"; exit 1; }
echo "redis://127.0.0.1:6379"
