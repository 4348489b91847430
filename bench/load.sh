#!/usr/bin/env bash
# Load test of videos-api in development mode on 127.0.0.1 with wrk
# (Debian package `wrk`; `/usr/bin/time` from package `time`):
#   GET /healthz (no auth), GET /me with one repeated token (token-cache hits),
#   GET /me with 10,000 distinct tokens (each verified once: cache misses).
# Prints requests/s, p50/p99 latency, server CPU per request, and RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-3917}"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q -p videos-api
VIDEOS_API_ADDR="127.0.0.1:$PORT" VIDEOS_DB=":memory:" RUST_LOG=warn \
  /usr/bin/time -v target/release/videos-api > "$work/out" 2> "$work/time" &
timer=$!
for _ in $(seq 1 100); do grep -q "^export BOB" "$work/out" 2>/dev/null && break; sleep 0.1; done
server=$(pgrep -P "$timer" videos-api)
token=$(sed -n "s/^export ALICE='\(.*\)'$/\1/p" "$work/out")

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
run() { # name, then wrk arguments
  local name=$1; shift
  local before; before=$(cpu)
  WRK_THREADS=2 wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "$work/wrk"
  local after; after=$(cpu)
  local rps p50 p99 reqs
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk")
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk")
  local us; us=$(awk -v d=$((after - before)) -v r="$reqs" -v hz="$hz" 'BEGIN {printf "%.1f", d / hz * 1e6 / r}')
  printf '| %-28s | %10s | %8s | %8s | %12s | %8s |\n' "$name" "$rps" "$p50" "$p99" "$us" "$(rss)"
}

idle=$(rss)
echo "videos-api pid $server, idle RSS ${idle} kB; wrk -t2 -c$CONNECTIONS -d$DURATION"
python3 bench/mint-tokens.py 127.0.0.1 "$PORT" 10000 > "$work/tokens"
after_mint=$(rss)
echo "| endpoint | requests/s | p50 | p99 | server CPU µs/request | RSS kB |"
echo "|---|---|---|---|---|---|"
run "GET /healthz" "http://127.0.0.1:$PORT/healthz"
run "GET /me, one token" -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/me"
before_distinct=$(rss)
TOKENS_FILE="$work/tokens" run "GET /me, 10,000 distinct tokens" -s bench/distinct-tokens.lua "http://127.0.0.1:$PORT/me"
after_distinct=$(rss)
echo "RSS: idle ${idle} kB; after minting 10,000 tokens ${after_mint} kB; 10,000 tokens verified and cached: +$((after_distinct - before_distinct)) kB"
kill -INT "$server"
wait "$timer" || true
grep "Maximum resident" "$work/time"
