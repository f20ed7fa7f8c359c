#!/bin/bash
# usage: bench/page-cache.sh BINARY LABEL — product page SSR vs /healthz for one build (see BENCHMARKS.md)
BIN=$1; LABEL=$2
rm -rf /tmp/bench-page; mkdir -p /tmp/bench-page
EMPORIUM_DATA_DIR=/tmp/bench-page EMPORIUM_ADDR=127.0.0.1:3300 EMPORIUM_RATE_LIMITS=false EMPORIUM_GATEWAY_URL=http://127.0.0.1:3399 RUST_LOG=warn $BIN > /tmp/bench-page/log 2>&1 &
PID=$!
for i in $(seq 1 120); do curl -sf 127.0.0.1:3300/readyz >/dev/null && break; sleep 1; done
curl -s -o /dev/null 127.0.0.1:3300/p/king-tufted-low-profile-standard-bed
for r in 1 2; do
  for u in /healthz /p/king-tufted-low-profile-standard-bed; do
    echo "$LABEL $u round $r: $(wrk -t1 -c64 -d8s --latency http://127.0.0.1:3300$u | grep -E 'Requests/sec|^ +99%|^ +50%' | tr -s ' ' | tr '\n' ' ')"
  done
done
kill $PID; wait $PID 2>/dev/null
