#!/usr/bin/env bash
# Restart after SIGKILL and memory under load, on the demo catalog (SQLite, pictures in a
# folder, the index on disk): one node is loaded with wrk on a product page while its
# resident memory is sampled, then killed with SIGKILL mid-load and started again, ROUNDS
# times; each restart is timed from the new process's start to its first 200 on the page.
#
#   bench/restart.sh          # after `cargo xtask build --release`: needs target/release/server, wrk
#
# The same-run baselines: the node's first start (which imports the demo catalog and draws its
# pictures) and its idle memory before any load.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PAGE=${PAGE:-/p/essence-mascara-lash-princess}
PORT=${PORT:-3520}
SERVER=${SERVER:-target/release/server}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT

start() {
  EMPORIUM_DATA_DIR="$dir" EMPORIUM_ADDR=127.0.0.1:$PORT RUST_LOG=warn \
    EMPORIUM_GATEWAY_URL=http://127.0.0.1:9 EMPORIUM_RATE_LIMITS=false \
    "$SERVER" >>"$dir/server.log" 2>&1 &
  pid=$!
}
# Milliseconds from now until the page answers 200.
first_200() {
  local t0 t1
  t0=$(date +%s%N)
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$PAGE")" = 200 ]; do
    sleep 0.005
  done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

start
first=$(first_200)
sleep 2
idle=$(rss_mb)
echo "first start (imports the demo catalog): ${first} ms to the first 200; idle RSS ${idle} MB"

printf '| round | req/s under load | peak RSS under load (MB) | SIGKILL → first 200 (ms) |\n|---|---:|---:|---:|\n'
for round in $(seq 1 "$ROUNDS"); do
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$PAGE" >"$dir/wrk.txt" &
  load=$!
  peak=0
  while kill -0 $load 2>/dev/null; do
    now=$(rss_mb 2>/dev/null || echo 0)
    [ "${now:-0}" -gt "$peak" ] && peak=$now
    sleep 0.25
  done
  rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
  # Killed with requests in flight: a short load keeps connections open while it dies.
  wrk -t1 -c"$CONNECTIONS" -d3s "http://127.0.0.1:$PORT$PAGE" >/dev/null 2>&1 &
  short=$!
  sleep 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  start
  took=$(first_200)
  wait "$short" 2>/dev/null || true
  printf '| %s | %s | %s | %s |\n' "$round" "$rps" "$peak" "$took"
done
