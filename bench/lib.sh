# Shared by the proxy bench scripts (sourced, not run): a scratch directory cleaned up on exit,
# nginx in front of a fake upstream, and airlock with full redaction in front of the same.

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_nginx PORT UPSTREAM_PORT [LOCATION DIRECTIVES]: proxy_pass with upstream keepalive.
start_nginx() {
  cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_buffer_size 256k;
  upstream fake { server 127.0.0.1:$2; keepalive 128; }
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${3:-}
    }
  }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work"
}

# start_airlock PORT UPSTREAM_PORT [EXTRA [proxy] LINES]: 10 vault secrets, the shipped rules,
# entropy, metering; sets air_pid and waits until it answers.
start_airlock() {
  export AIRLOCK_HOME="$work/airlock"
  for i in $(seq 1 10); do
    printf 'bench-vault-secret-%02d-7f3a9c1e5b' "$i" | ./target/release/airlock vault add "bench_$i" 2>/dev/null
  done
  cat >"$work/airlock.toml" <<CONF
[proxy]
listen = "127.0.0.1:$1"
${3:-}
[upstreams.fake]
url = "http://127.0.0.1:$2"
[metrics]
listen = "127.0.0.1:0"
CONF
  AIRLOCK_LOG=warn ./target/release/airlock serve --config "$work/airlock.toml" 2>"$work/airlock.log" &
  air_pid=$!
  pids+=($air_pid)
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && break
    sleep 0.1
  done
  sleep 0.5
}
