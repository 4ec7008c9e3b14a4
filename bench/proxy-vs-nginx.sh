#!/usr/bin/env bash
# airlock against nginx proxy_pass, same machine, same run, same fake upstream.
#
# Needs: nginx and wrk on PATH (Debian: apt-get install nginx-light wrk), ../shared beside the
# checkout. Builds airlock and the fake upstream in release mode, then measures with wrk:
#   - a 4 KB chat request, 50 connections: requests/s direct, through nginx, through airlock
#     (full redaction on: 10 vault secrets, the shipped rules, entropy). airlock remembers what
#     it found in the parts of a body it has seen (`Redactor::redact_request`), so it is also
#     measured with a new last message in every request ("next turn": what an agent sends)
#     and with every body new from its first message on ("all new": nothing remembered);
#   - the same at 1 connection: latency percentiles;
#   - the 36 KB OpenClaw chat-completions request at 1 connection: latency percentiles;
#   - airlock's resident memory idle and after the runs.
# Usage: bench/proxy-vs-nginx.sh [SECONDS per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
for tool in nginx wrk python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
cargo build --quiet --release --bin airlock
cargo build --quiet --release -p airlock-bench --bin fake-upstream

source bench/lib.sh
up=19100 ngx=19101 air=19102
./target/release/fake-upstream "127.0.0.1:$up" 2>/dev/null &
up_pid=$!
pids+=($up_pid)
start_nginx "$ngx" "$up"
start_airlock "$air" "$up"
rss_idle=$(ps -o rss= -p "$air_pid")
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
  --data '{"messages":[]}' "http://127.0.0.1:$air/fake/v1/chat/completions")
[ "$code" = 200 ] || { echo "bench: airlock answered $code; log:" >&2; cat "$work/airlock.log" >&2; exit 1; }

# Request bodies: a 4 KB chat request, and the 36 KB OpenClaw capture.
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
capture = json.load(open("../shared/fixtures/openclaw/openai-chat-completions.json"))
big = json.dumps(capture["body"], separators=(",", ":"))
text = " ".join(m["content"] if isinstance(m.get("content"), str) else "" for m in capture["body"]["messages"])
question = "What changed in the last deploy?"
while True:
    small = json.dumps({"model": "gpt-4o", "messages": [
        {"role": "system", "content": text[:3000]},
        {"role": "user", "content": question}]}, separators=(",", ":"))
    if len(small) >= 4096:
        break
    question += " Please check."
for name, body in (("small", small), ("big", big)):
    open(f"{work}/{name}.json", "w").write(body)
    open(f"{work}/{name}.lua", "w").write(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{work}/{name}.json")\nwrk.body = f:read("*a")\nf:close()\n')

def varying(name, prefix, suffix):
    # A counter between prefix and suffix makes each request's body new from there on.
    open(f"{work}/{name}.lua", "w").write(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local prefix = [==[{prefix}]==]\nlocal suffix = [==[{suffix}]==]\n'
        'local n = math.random(1, 1000000000)\n'
        'request = function()\n  n = n + 1\n  return wrk.format(nil, nil, nil, prefix .. n .. suffix)\nend\n')
for name, body in (("small", small), ("big", big)):
    first = body.index('"content":"') + len('"content":"')
    varying(f"{name}-new", body[:first], " " + body[first:])
# The next turn: the small request's question, or a message appended to the big one's.
last = small.rindex('"content":"') + len('"content":"')
varying("small-turn", small[:last], " " + small[last:])
end = big.index('],"stream"')
varying("big-turn", big[:end] + ',{"role":"user","content":"turn ',
        ' thanks, now check the deploy log."}' + big[end:])
EOF

run() { # name url lua connections
  wrk -t2 -c"$4" -d"${seconds}s" --latency -s "$3" "$2" 2>&1
}
rps() { awk '/Requests\/sec/ {r=$2} /Non-2xx/ {bad=$NF} END {print r (bad ? " (" bad " non-2xx!)" : "")}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }

if [ -n "${PROFILE:-}" ]; then
  perf record -F 999 -g -o "$PROFILE" -p "$air_pid" -- sleep "$seconds" >/dev/null 2>&1 &
  perf_pid=$!
  wrk -t2 -c50 -d"${seconds}s" -s "$work/small.lua" "http://127.0.0.1:$air/fake/v1/chat/completions" >/dev/null
  wait "$perf_pid"
  exit 0
fi

targets() { # BODY: one line per target: name URL script
  echo "direct http://127.0.0.1:$up/v1/chat/completions $work/$1.lua"
  echo "nginx http://127.0.0.1:$ngx/v1/chat/completions $work/$1.lua"
  # The load generator builds each varying body itself: nginx on the same script shows what
  # that costs wrk, on this shared box.
  echo "nginx:next-turn http://127.0.0.1:$ngx/v1/chat/completions $work/$1-turn.lua"
  echo "airlock http://127.0.0.1:$air/fake/v1/chat/completions $work/$1.lua"
  echo "airlock:next-turn http://127.0.0.1:$air/fake/v1/chat/completions $work/$1-turn.lua"
  echo "airlock:all-new http://127.0.0.1:$air/fake/v1/chat/completions $work/$1-new.lua"
}

echo "== 4 KB chat request, 50 connections, ${seconds}s each =="
while read -r name url script; do
  printf '%-18s %s req/s\n' "$name" "$(run "$name" "$url" "$script" 50 | rps)"
done < <(targets small)

latency() { # title; then one row per body and target
  echo "== 1 connection: latency p50 / p99$1 =="
  for body in small big; do
    while read -r name url script; do
      out="$($pin wrk -t1 -c1 -d"${seconds}s" --latency -s "$script" "$url" 2>&1)"
      printf '%-6s %-18s p50 %s  p99 %s  (%s req/s)\n' "$body" "$name" \
        "$(echo "$out" | pct 50%)" "$(echo "$out" | pct 99%)" "$(echo "$out" | rps)"
    done < <(targets "$body")
  done
}
pin=""
latency ""
# At one connection most of a loopback hop is the wake-up of a process sleeping on the other
# CPU, and where the kernel places each process decides how many hops cross CPUs. Pinned, every
# path gets the same placement: the load generator and the proxy on CPU 0, the upstream on
# CPU 1 (direct: one crossing each way; through a proxy: the same crossings plus the proxy).
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  taskset -a -p -c 1 "$up_pid" >/dev/null
  taskset -a -p -c 0 "$air_pid" >/dev/null
  for worker in $(pgrep -P "$(cat "$work/nginx.pid")"); do taskset -p -c 0 "$worker" >/dev/null; done
  pin="taskset -c 0"
  latency " (pinned: load generator and proxy on CPU 0, upstream on CPU 1)"
fi

rss_after=$(ps -o rss= -p "$air_pid")
echo "== airlock RSS: idle ${rss_idle} KiB, after the runs ${rss_after} KiB =="
if grep -q ' ERROR ' "$work/airlock.log"; then
  echo "airlock logged errors:" >&2
  grep ' ERROR ' "$work/airlock.log" | head -5 >&2
fi
