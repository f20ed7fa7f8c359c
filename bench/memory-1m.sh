#!/usr/bin/env bash
# Resident memory under load at a million products: one node on the 1M-product synthetic
# catalog (`tools bench search --dir target/bench-search` builds it, ~10 min the first time)
# with three loads at once for 20 s, ROUNDS times: product pages at random (32 connections),
# the search API over the query log (16) and search result pages over the same log (16). Its
# resident memory is sampled every 250 ms; the same-run baseline is the node's idle memory.
#
#   bench/memory-1m.sh        # needs target/release/server (`cargo xtask build --release`), target/bench-search, wrk, sqlite3
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-3570}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT

sqlite3 target/bench-search/catalog.db \
  "SELECT '/p/' || slug FROM products ORDER BY random() LIMIT 5000" >"$dir/pages.txt"
sed 's|/api/v1/search|/search|' target/bench-search/urls.txt >"$dir/search-pages.txt"

EMPORIUM_DATABASE_URL=sqlite://target/bench-search/catalog.db \
  EMPORIUM_SEARCH_INDEX=target/bench-search/index EMPORIUM_DEMO_CATALOG=false \
  EMPORIUM_DATA_DIR="$dir" EMPORIUM_ADDR=127.0.0.1:$PORT EMPORIUM_RATE_LIMITS=false \
  EMPORIUM_GATEWAY_URL=http://127.0.0.1:9 RUST_LOG=warn target/release/server >"$dir/server.log" 2>&1 &
pid=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; do sleep 0.5; done
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
echo "idle RSS $(rss_mb) MB"
printf '| round | peak RSS (MB) | product pages/s | search API/s | search pages/s |\n|---|---:|---:|---:|---:|\n'
for round in $(seq 1 "$ROUNDS"); do
  url=http://127.0.0.1:$PORT
  wrk -t1 -c32 -d20s -s bench/search-urls.lua "$url" -- "$dir/pages.txt" >"$dir/w1" &
  loads=$!
  wrk -t1 -c16 -d20s -s bench/search-urls.lua "$url" -- target/bench-search/urls.txt >"$dir/w2" &
  loads="$loads $!"
  wrk -t1 -c16 -d20s -s bench/search-urls.lua "$url" -- "$dir/search-pages.txt" >"$dir/w3" &
  loads="$loads $!"
  peak=0
  # shellcheck disable=SC2086
  while kill -0 $loads 2>/dev/null; do
    now=$(rss_mb)
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.25
  done
  rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
  printf '| %s | %s | %s | %s | %s |\n' "$round" "$peak" "$(rate "$dir/w1")" "$(rate "$dir/w2")" "$(rate "$dir/w3")"
done
