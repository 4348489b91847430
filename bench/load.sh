#!/usr/bin/env bash
# Load test of videos-api in development mode on 127.0.0.1 with wrk
# (Debian package `wrk`; `/usr/bin/time` from package `time`):
#   GET /healthz (no auth) and GET /me with one repeated token (token-cache
#   hits), alternated for $ROUNDS rounds so that their ratio is measured
#   under the same machine conditions; then GET /me with 10,000 distinct
#   tokens, each sent once (each verified from scratch, cache misses).
# Prints requests/s, p50/p99 latency, server CPU per request and RSS; then
# runs the in-process verify benchmark's interleaved part for (b) and (c),
# to compare the server's per-request verification cost with (b).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-5s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-3917}"
WORKERS="${WORKERS:-2}" # the server's tokio worker threads
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q -p videos-api
TOKIO_WORKER_THREADS="$WORKERS" VIDEOS_API_ADDR="127.0.0.1:$PORT" VIDEOS_DB=":memory:" RUST_LOG=warn \
  /usr/bin/time -v target/release/videos-api --dev > "$work/out" 2> "$work/time" &
timer=$!
for _ in $(seq 1 100); do grep -q "^export BOB" "$work/out" 2>/dev/null && break; sleep 0.1; done
server=$(pgrep -P "$timer" videos-api)
token=$(sed -n "s/^export ALICE='\(.*\)'$/\1/p" "$work/out")

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
# run NAME WRK-ARGS...: one table row; the requests/s and CPU µs/request
# are also left in $work/last.
run() {
  local name=$1; shift
  local before; before=$(cpu)
  WRK_THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "$work/wrk"
  local after; after=$(cpu)
  local rps p50 p99 reqs us
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk")
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk")
  us=$(awk -v d=$((after - before)) -v r="$reqs" -v hz="$hz" 'BEGIN {printf "%.1f", d / hz * 1e6 / r}')
  printf '| %-34s | %10s | %8s | %8s | %8s | %8s |\n' "$name" "$rps" "$p50" "$p99" "$us" "$(rss)"
  echo "$rps $us" > "$work/last"
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

idle=$(rss)
echo "videos-api pid $server ($WORKERS worker threads), idle RSS ${idle} kB; wrk -t2 -c$CONNECTIONS -d$DURATION"
python3 bench/mint-tokens.py 127.0.0.1 "$PORT" 10000 > "$work/tokens"
echo
echo "| endpoint | requests/s | p50 | p99 | server CPU µs/request | RSS kB |"
echo "|---|---|---|---|---|---|"
: > "$work/ratios"; : > "$work/healthz_us"; : > "$work/me_us"
for round in $(seq 1 "$ROUNDS"); do
  run "GET /healthz (round $round)" "http://127.0.0.1:$PORT/healthz"
  read -r h_rps h_us < "$work/last"
  run "GET /me, one token (round $round)" -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/me"
  read -r m_rps m_us < "$work/last"
  awk -v m="$m_rps" -v h="$h_rps" 'BEGIN {print m / h}' >> "$work/ratios"
  echo "$h_us" >> "$work/healthz_us"; echo "$m_us" >> "$work/me_us"
done
before_distinct=$(rss)
DURATION=10s TOKENS_FILE="$work/tokens" run "GET /me, 10,000 distinct tokens" -s bench/distinct-tokens.lua "http://127.0.0.1:$PORT/me"
read -r _ distinct_us < "$work/last"
after_distinct=$(rss)
kill -INT "$server"
wait "$timer" || true
echo
echo "/me one token / /healthz requests/s, per round: $(tr '\n' ' ' < "$work/ratios")(median $(median < "$work/ratios"))"
echo "server CPU µs/request, medians: /healthz $(median < "$work/healthz_us"), /me one token $(median < "$work/me_us"), /me distinct $distinct_us"
echo "RSS: idle ${idle} kB; 10,000 tokens verified and cached: +$((after_distinct - before_distinct)) kB"
grep "Maximum resident" "$work/time" | sed 's/^\s*/peak: /'

echo
echo "In-process, interleaved (cargo bench, verify, interleaved part only):"
cargo bench -q -p cognito-verify --features testing --bench verify -- interleaved-only 2> "$work/bench" > /dev/null
grep -E "^  [a-e]" "$work/bench"
b_us=$(awk '$1 == "b_verify_no_token_cache" {print $2}' "$work/bench")
b2_us=$(awk '$1 == "b2_verify_on_two_threads" {print $2}' "$work/bench")
c_us=$(awk '$1 == "c_verify_token_cache_hit" {print $2}' "$work/bench")
me_us=$(median < "$work/me_us")
awk -v d="$distinct_us" -v m="$me_us" -v b="$b_us" -v b2="$b2_us" -v c="$c_us" 'BEGIN {
  v = d - m + c
  printf "verify cost per request with distinct tokens = distinct − one token + (c) = %.1f − %.1f + %.1f = %.1f µs\n", d, m, c, v
  printf "  / (b), one thread: %.1f / %.1f = %.2f;  / (b2), both cores busy as in the server: %.1f / %.1f = %.2f\n", v, b, v / b, v, b2, v / b2
}'
