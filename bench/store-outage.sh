#!/usr/bin/env bash
# Product-page and picture throughput and latency with the image store healthy, then
# black-holed (accepting connections, never answering), healthy again, black-holed again, and
# killed: one server process, one S3-compatible store (moto) behind a proxy that can go
# silent, wrk on the same machine. While the store is out, the page shows the pictures the
# node holds and the picture is served from the node's copy.
#
#   bench/store-outage.sh            # after `cargo xtask build --release` and `cargo xtask test` (moto in target/tools/moto)
#
# Needs: target/release/server, wrk, python3, moto_server (MOTO_SERVER=… to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_SERVER=${MOTO_SERVER:-target/tools/moto/bin/moto_server}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PAGE=${PAGE:-/p/essence-mascara-lash-princess}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT

"$MOTO_SERVER" -H 127.0.0.1 -p 3510 >/dev/null 2>&1 &
moto=$!
python3 bench/blackhole_proxy.py 3511 3510 >/dev/null &
proxy=$!
for _ in $(seq 1 100); do curl -sf -X PUT http://127.0.0.1:3510/bench >/dev/null && break; sleep 0.2; done

EMPORIUM_DATA_DIR="$dir" EMPORIUM_ADDR=127.0.0.1:3500 RUST_LOG=warn \
  EMPORIUM_SEARCH_INDEX=ram EMPORIUM_GATEWAY_URL=http://127.0.0.1:9 \
  EMPORIUM_ASSET_STORE=s3://bench/shop EMPORIUM_S3_ENDPOINT=http://127.0.0.1:3511 \
  EMPORIUM_S3_ACCESS_KEY_ID=bench EMPORIUM_S3_SECRET_ACCESS_KEY=bench \
  EMPORIUM_ASSET_PROBE_MS=250 EMPORIUM_ASSET_COOL_DOWN_MS=1000 EMPORIUM_RATE_LIMITS=false \
  target/release/server &
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:3500$PAGE" | grep -q /assets/s/ && break; sleep 0.2; done
curl -sf "http://127.0.0.1:3500$PAGE" | grep -q /assets/s/ || { echo "no picture on $PAGE"; exit 1; }

assets() { curl -s http://127.0.0.1:3500/readyz | python3 -c 'import json,sys; print(json.load(sys.stdin)["components"]["assets"]["status"])'; }
wait_for() { for _ in $(seq 1 200); do [ "$(assets)" = "$1" ] && return; sleep 0.1; done; echo "assets never $1"; exit 1; }
# The picture a shopper's browser loads first on the page (the main picture's src).
PICTURE=$(curl -s "http://127.0.0.1:3500$PAGE" | grep -o 'src="/assets/s/[^"]*"' | head -1 | cut -d'"' -f2)
run_wrk() {
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:3500$1" >"$dir/wrk.txt"
  printf '%s | %s | %s' "$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")" \
    "$(awk '$1 == "50%" {print $2}' "$dir/wrk.txt")" "$(awk '$1 == "99%" {print $2}' "$dir/wrk.txt")"
}
measure() {
  local label=$1 page picture imgs placeholder
  page=$(run_wrk "$PAGE")
  picture=$(run_wrk "$PICTURE")
  imgs=$(curl -s "http://127.0.0.1:3500$PAGE" | { grep -o '<img[^>]*/assets/' || true; } | wc -l)
  placeholder=$(curl -s -D - -o /dev/null "http://127.0.0.1:3500$PICTURE" | grep -ci '^x-emporium-placeholder' || true)
  printf '| %-18s | %s | %s | %s | %s |\n' "$label" "$page" "$picture" "$imgs" "$placeholder"
}

wrk -t1 -c"$CONNECTIONS" -d3s "http://127.0.0.1:3500$PAGE" >/dev/null   # warm-up
curl -sf -o /dev/null "http://127.0.0.1:3500$PICTURE"                   # the node keeps a copy
echo "| store | page req/s | p50 | p99 | picture req/s | p50 | p99 | <img> on the page | picture a placeholder |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
measure "healthy"
kill -USR1 $proxy; wait_for degraded
measure "black-holed"
kill -USR1 $proxy; wait_for up
measure "healthy again"
kill -USR1 $proxy; wait_for degraded
measure "black-holed again"
kill -USR1 $proxy; wait_for up
kill -9 $moto; wait_for degraded
measure "killed"
