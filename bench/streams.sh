#!/usr/bin/env bash
# SSE through airlock: per-event delivery latency against the same streams direct, resident
# memory with 1,000 concurrent streams, and a soak with RSS sampled as it runs.
#
# Needs: curl; nginx on PATH adds nginx (proxy_pass, proxy_buffering off) as a reference in
# the same run. Builds airlock and stream-bench in release mode, then:
#   1. one stream, 200 events 10 ms apart: latency p50/p99 direct, through nginx, through
#      airlock (the difference from direct includes the extra loopback hop);
#      the same again with every path placed alike (driver and proxy on CPU 0, provider on 1);
#   2. 1,000 concurrent streams (20 events 50 ms apart each): latency, airlock's peak RSS;
#   3. a soak of SOAK_SECONDS (default 600) with 200 streams renewed as they end, airlock's
#      RSS printed every 30 s.
# Usage: bench/streams.sh            (SOAK_SECONDS=0 skips the soak)
set -euo pipefail
cd "$(dirname "$0")/.."
soak="${SOAK_SECONDS:-600}"
cargo build --quiet --release --bin airlock
cargo build --quiet --release -p airlock-bench --bin stream-bench

source bench/lib.sh
up=19110 air=19111 ngx=19112
./target/release/stream-bench serve "127.0.0.1:$up" 2>/dev/null &
up_pid=$!
pids+=($up_pid)
targets=("direct http://127.0.0.1:$up/v1/messages")
if command -v nginx >/dev/null; then
  start_nginx "$ngx" "$up" "proxy_buffering off;"
  targets+=("nginx http://127.0.0.1:$ngx/v1/messages")
fi
targets+=("airlock http://127.0.0.1:$air/fake/v1/messages")
start_airlock "$air" "$up" "max_concurrent_requests = 4096"
rss() { awk '/VmRSS/ {print $2}' "/proc/$air_pid/status"; }
echo "== airlock RSS idle: $(rss) KiB =="

proxied="http://127.0.0.1:$air/fake/v1/messages"
drive() { ./target/release/stream-bench drive "$@"; }

echo "== one stream, 200 events 10 ms apart: delivery latency =="
for target in "${targets[@]}"; do
  set -- $target
  printf '%-8s ' "$1"; drive "$2" --streams 1 --frames 200 --interval-ms 10
done

# The same with every path placed alike (see proxy-vs-nginx.sh): the driver and the proxy on
# CPU 0, the provider on CPU 1; placement is put back afterwards.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  echo "== the same, pinned: driver and proxy on CPU 0, provider on CPU 1 =="
  taskset -a -p -c 1 "$up_pid" >/dev/null
  taskset -a -p -c 0 "$air_pid" >/dev/null
  ngx_workers=""
  [ -f "$work/nginx.pid" ] && ngx_workers=$(pgrep -P "$(cat "$work/nginx.pid")" || true)
  for worker in $ngx_workers; do taskset -p -c 0 "$worker" >/dev/null; done
  for target in "${targets[@]}"; do
    set -- $target
    printf '%-8s ' "$1"; taskset -c 0 ./target/release/stream-bench drive "$2" --streams 1 --frames 200 --interval-ms 10
  done
  all="0-$(($(nproc) - 1))"
  taskset -a -p -c "$all" "$up_pid" >/dev/null
  taskset -a -p -c "$all" "$air_pid" >/dev/null
  for worker in $ngx_workers; do taskset -p -c "$all" "$worker" >/dev/null; done
fi

echo "== 1,000 concurrent streams, 20 events 50 ms apart each =="
for target in "${targets[@]:0:${#targets[@]}-1}"; do
  set -- $target
  printf '%-8s ' "$1"; drive "$2" --streams 1000 --frames 20 --interval-ms 50
done
( while sleep 0.2; do r=$(rss); [ "$r" -gt "$(cat "$work/peak" 2>/dev/null || echo 0)" ] && echo "$r" >"$work/peak"; done ) &
sampler=$!
printf 'airlock  '; drive "$proxied" --streams 1000 --frames 20 --interval-ms 50
kill "$sampler" 2>/dev/null || true
echo "== airlock RSS: peak with 1,000 streams $(cat "$work/peak") KiB, after $(rss) KiB =="

if [ "$soak" -gt 0 ]; then
  echo "== soak: ${soak}s, 200 streams renewed as they end; RSS every 30 s =="
  drive "$proxied" --streams 200 --frames 40 --interval-ms 25 --seconds "$soak" &
  driver=$!
  for t in $(seq 30 30 "$soak"); do
    sleep 30
    echo "t=${t}s rss=$(rss) KiB"
  done
  wait "$driver"
  echo "== airlock RSS after the soak: $(rss) KiB =="
fi
if grep -q ' ERROR ' "$work/airlock.log"; then
  echo "airlock logged errors:" >&2
  grep ' ERROR ' "$work/airlock.log" | head -5 >&2
fi
