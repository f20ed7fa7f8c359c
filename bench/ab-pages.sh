#!/bin/bash
# Same-run A/B of page rendering: two server binaries side by side, one wrk run each in turn
# (wrk -c64, 6 s, two rounds). Port 3601 is the first binary, 3602 the second.
set -u
: "${1:?usage: bench/ab-pages.sh OLD_SERVER_BINARY NEW_SERVER_BINARY (run from the repo root, site built)}"; : "${2:?}"
start() { # bin port
  local dir=/tmp/ab-$2; rm -rf $dir; mkdir -p $dir
  EMPORIUM_ADDR=127.0.0.1:$2 EMPORIUM_DATA_DIR=$dir EMPORIUM_SITE_ROOT=target/site \
  EMPORIUM_RATE_LIMITS=false EMPORIUM_DEMO_PICTURES=false EMPORIUM_GATEWAY_URL=http://127.0.0.1:9 \
  RUST_LOG=warn $1 serve > $dir/log 2>&1 &
  for i in $(seq 1 120); do curl -sf http://127.0.0.1:$2/readyz >/dev/null && break; sleep 1; done
}
start "$1" 3601
start "$2" 3602
P=$(curl -s "http://127.0.0.1:3602/api/v1/products?per_page=1" | python3 -c 'import sys,json;print(json.load(sys.stdin)["products"][0]["url"])')
L=$(curl -s "http://127.0.0.1:3602/api/v1/categories" | python3 -c 'import sys,json;print([c["url"] for c in json.load(sys.stdin)["categories"]][0])')
echo "product $P listing $L"
for path in /healthz $P $L /cart; do curl -s -o /dev/null http://127.0.0.1:3601$path; curl -s -o /dev/null http://127.0.0.1:3602$path; done
for round in 1 2; do
 for path in /healthz $P $L /cart; do
  for port in 3601 3602; do
   r=$(wrk -t2 -c64 -d6s --latency http://127.0.0.1:$port$path | awk '/Requests\/sec/ {print $2} / 99%/ {p=$2} END {print p}' | paste -sd' ')
   echo "round $round $port $path $r"
  done
 done
done
kill %1 %2 2>/dev/null; true
