#!/usr/bin/env bash
# A timing the tests used to assert and now only measure (issue 22: tests assert behaviour,
# benchmarks keep the figures), against one release node on the demo catalog:
#
# 1. Sign-in with a wrong password against sign-in with an account that does not exist. Both
#    must cost one argon2 check (the test counts them); here is what each takes. ROUNDS
#    accounts, one wrong try each, interleaved with as many unknown addresses.
#
#   bench/failure-timings.sh     # after `cargo xtask build --release`: needs target/release/server, curl
#
# The image store's outage is measured by bench/store-outage.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-20}
PORT=${PORT:-3530}
SERVER=${SERVER:-target/release/server}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$PORT"
export EMPORIUM_DATA_DIR="$dir" RUST_LOG=warn EMPORIUM_RATE_LIMITS=false
# Port 9 (discard) has no listener here: every gateway call is refused.
export EMPORIUM_GATEWAY_URL=http://127.0.0.1:9

EMPORIUM_ADDR=127.0.0.1:$PORT "$SERVER" >>"$dir/server.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null "$base/readyz"; do
  kill -0 $pid 2>/dev/null || { cat "$dir/server.log"; exit 1; }
  sleep 0.1
done

# Milliseconds (3 decimals) one request took.
ms() { awk '{ printf "%.3f\n", $1 * 1000 }'; }
# p50 and p90 of the numbers on standard input.
summary() {
  sort -n | awk '{ v[NR] = $1 } END {
    p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.5)]
    printf "p50 %.1f ms, p90 %.1f ms (n = %d)", p50, p90, NR }'
}

for i in $(seq 1 "$ROUNDS"); do
  echo 'correct horse battery staple' | EMPORIUM_ADDR=127.0.0.1:0 "$SERVER" users create \
    --email "bench$i@example.com" --role shopper >/dev/null 2>>"$dir/server.log"
done
sign_in() {
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$base/api/v1/session"
}
: >"$dir/wrong"
: >"$dir/unknown"
for i in $(seq 1 "$ROUNDS"); do
  sign_in "bench$i@example.com" "not the password" | ms >>"$dir/wrong"
  sign_in "nobody$i@example.com" "not the password" | ms >>"$dir/unknown"
done
echo "sign-in, wrong password:  $(summary <"$dir/wrong")"
echo "sign-in, unknown account: $(summary <"$dir/unknown")"
