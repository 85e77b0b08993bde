#!/usr/bin/env bash
# shellcheck disable=SC2317  # scenario functions and the cleanup trap are called indirectly
# SPDX-License-Identifier: Apache-2.0
# Benchmarks Sluice against nginx as a plain reverse proxy: wrk -> proxy -> static nginx upstream, all
# on 127.0.0.1, alternating rounds, results as ratios (bench/README.md). A measurement, never a test.
#
# usage: bench/run.sh [--nginx-only] [-h|--help]
# environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  CONNECTIONS [64]  THREADS [1]  WARMUP [2s]
#   SCENARIOS ["get"]   space-separated list; see scenario_* below
#   BENCH_NGINX_KONG_HEADERS [0]  1: nginx also sets Kong's upstream/downstream headers
#   PIN [0]             1: proxies on CPU 0, upstream and wrk on the other CPUs (taskset)
#   KEEP_TMP [0]        1: keep the temp dir (configs, logs) after the run
#   BENCH_SLUICE [build/sluice]  the binary to benchmark
#   BENCH_UPSTREAM_PORT [18080]  BENCH_NGINX_PORT [18081]  BENCH_SLUICE_PORT [18082]
#   BENCH_UPSTREAM_TLS_PORT [18083] (the upstream's TLS listener, for the https scenarios)
# exit status: 0 measured; 1 Sluice failed to start or to proxy, or a run was invalid; 2 bad setup.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
SCENARIOS=${SCENARIOS:-get}
PIN=${PIN:-0}
KEEP_TMP=${KEEP_TMP:-0}
SLUICE_EXE=${BENCH_SLUICE:-$ROOT/build/sluice}
UPSTREAM_PORT=${BENCH_UPSTREAM_PORT:-18080}
NGINX_PORT=${BENCH_NGINX_PORT:-18081}
SLUICE_PORT=${BENCH_SLUICE_PORT:-18082}
UPSTREAM_TLS_PORT=${BENCH_UPSTREAM_TLS_PORT:-18083}
NGINX=/usr/sbin/nginx
STARTUP_TIMEOUT_S=10

NGINX_ONLY=0
for arg in "$@"; do
    case "$arg" in
    --nginx-only) NGINX_ONLY=1 ;;
    -h | --help)
        sed -n '/^# Benchmarks/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

die() {
    echo "bench: $*" >&2
    exit 2
}

# --- argument checks -------------------------------------------------------------------------------

# wrk accepts 10, 10s, 2m, 1h; the number of seconds bounds every wrk call with `timeout`.
duration_s() {
    local d=$1
    [[ $d =~ ^([0-9]+)([smh]?)$ ]] || die "bad duration '$d' (use e.g. 10s, 2m)"
    case "${BASH_REMATCH[2]}" in
    m) echo $((BASH_REMATCH[1] * 60)) ;;
    h) echo $((BASH_REMATCH[1] * 3600)) ;;
    *) echo $((BASH_REMATCH[1])) ;;
    esac
}
for v in ROUNDS CONNECTIONS THREADS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((CONNECTIONS >= THREADS)) || die "CONNECTIONS ($CONNECTIONS) must be >= THREADS ($THREADS)"
DURATION_S=$(duration_s "$DURATION")
WARMUP_S=$(duration_s "$WARMUP")
((DURATION_S > 0)) || die "DURATION must be at least 1s"

[ -x "$NGINX" ] || die "$NGINX not found; install it with: scripts/install-deps.sh bench (nginx-light)"
command -v wrk >/dev/null || die "wrk not found; install it with: scripts/install-deps.sh bench"
command -v curl >/dev/null || die "curl not found; install it with: scripts/install-deps.sh bench"
command -v timeout >/dev/null || die "timeout (coreutils) not found"

NCPU=$(nproc)
PROXY_CPUS="" # taskset lists; empty means "not pinned"
LOAD_CPUS=""
if [ "$PIN" = 1 ]; then
    command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
    ((NCPU >= 2)) || die "PIN=1 needs at least 2 CPUs, this machine has $NCPU"
    PROXY_CPUS=0
    LOAD_CPUS=1-$((NCPU - 1))
fi

# pinned CPUS CMD...: runs CMD under taskset when CPUS is set.
pinned() {
    local cpus=$1
    shift
    if [ -n "$cpus" ]; then
        exec taskset -c "$cpus" "$@"
    fi
    exec "$@"
}

# --- scenarios -------------------------------------------------------------------------------------
# A scenario is a name; scenario_desc_<name> prints one line for the table and scenario_args_<name>
# prints extra wrk arguments, one per line (e.g. -s script.lua for a POST). Requests go to
# http://127.0.0.1:<port>/, or to the path scenario_path_<name> prints when it is defined.

scenario_desc_get() { echo "GET / (keep-alive), upstream answers 200 with a 100-byte body"; }
scenario_args_get() { :; }

# A request body through both proxies: nginx reads it into memory first (proxy_request_buffering on,
# Kong's default; 1 KiB fits client_body_buffer_size), Sluice streams it. The upstream discards it.
scenario_desc_post1k() { echo "POST / with a 1 KiB body (keep-alive), same upstream answer"; }
scenario_args_post1k() {
    local lua="$TMP/post1k.lua"
    if [ ! -e "$lua" ]; then
        printf '%s\n' 'wrk.method = "POST"' 'wrk.body = string.rep("x", 1024)' \
            'wrk.headers["Content-Type"] = "application/octet-stream"' >"$lua"
    fi
    printf '%s\n' -s "$lua"
}

# A new client connection per request (wrk sends "Connection: close"): the accept, the first read
# and the close are on every request's path, as with clients that do not keep connections alive.
# The upstream side stays pooled. Client ports are reused quickly: the proxy closes first, so the
# TIME_WAIT states are the proxy's and cost wrk nothing.
scenario_desc_close() { echo "GET / with Connection: close (a new client connection per request)"; }
scenario_args_close() { printf '%s\n' -H "Connection: close"; }

# Many more connections than the proxies' upstream pools keep (512 each, Kong's default): the
# requests in flight to the upstream swing above the pool size and back, which is where a pool that
# closes its excess at once pays connects (wrk takes the last -c).
scenario_desc_c1000() { echo "GET / over 1000 keep-alive connections (more in flight than the 512-connection pools)"; }
scenario_args_c1000() { printf '%s\n' -c 1000; }

# The upstream over TLS: both proxies reach the upstream nginx's TLS listener (a self-signed
# certificate for localhost made for the run; no verification, Kong's default), nginx with
# proxy_ssl_session_reuse (its default) and Sluice through an https service, each keeping its
# upstream connections alive as in `get`. Measures the TLS layer's cost per request. Both sides
# speak TLS 1.2 and 1.3 (Kong's ssl_protocols): nginx 1.22's defaults stop at 1.2 on both, and a
# proxy that offers 1.3 to a server that stops at 1.2 pays a key share in every ClientHello that
# the other does not (Sluice offers 1.3, as Kong on OpenResty >= 1.25 does).
scenario_desc_https() { echo "GET /tls/ (keep-alive), the proxy speaks TLS to the upstream"; }
scenario_args_https() { :; }
scenario_path_https() { echo /tls/; }

# The same, but the upstream closes its connection after every answer (keepalive_timeout 0 on its
# /new/ location), so each request pays a TLS handshake to the upstream: both proxies resume the
# session (nginx's proxy_ssl_session_reuse, Sluice's per-worker session cache), and the connect,
# the abbreviated handshake and the close are what is measured.
scenario_desc_https_handshake() { echo "GET /tls-new/ (keep-alive from wrk), the upstream closes after each answer: a resumed TLS handshake per request"; }
scenario_args_https_handshake() { :; }
scenario_path_https_handshake() { echo /tls-new/; }

# scenario_path NAME: the request path of scenario NAME.
scenario_path() {
    if declare -F "scenario_path_$1" >/dev/null; then "scenario_path_$1"; else echo /; fi
}
WANT_TLS=0
[[ " $SCENARIOS " == *" https "* || " $SCENARIOS " == *" https_handshake "* ]] && WANT_TLS=1

for s in $SCENARIOS; do
    declare -F "scenario_args_$s" >/dev/null || die "unknown scenario '$s'"
done

# --- processes and cleanup -------------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
# nginx workers drop to `nobody` when run as root; let them traverse the directory.
chmod 755 "$TMP"
PIDS=()

# Kills what this run started: the PIDs we launched, then any nginx or Sluice process still alive
# whose command line names our private temp dir (catches a Sluice that daemonized despite
# `daemon = off`); other programs that merely mention the dir (a `tail -f` on a log) are left alone.
cleanup() {
    local rc=$? pid p i exe sluice_real
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sluice_real=$(realpath -e "$SLUICE_EXE" 2>/dev/null || echo "$SLUICE_EXE")
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        exe=$(readlink "$p/exe" 2>/dev/null || true)
        [ "$exe" = "$NGINX" ] || [ "$exe" = "$sluice_real" ] || continue
        if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$TMP/"; then
            PIDS+=("$pid")
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for i in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "$KEEP_TMP" = 1 ]; then
        echo "bench: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in "$UPSTREAM_PORT" "$NGINX_PORT" "$SLUICE_PORT" "$UPSTREAM_TLS_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use; stop what listens there or set BENCH_*_PORT"
done

# wait_port PORT PID: polls until PORT accepts, PID exits, or STARTUP_TIMEOUT_S passes.
# Returns 0 when open, 1 on timeout, 3 if the process exited first.
wait_port() {
    local port=$1 pid=$2 i
    for ((i = 0; i < STARTUP_TIMEOUT_S * 10; i++)); do
        port_open "$port" && return 0
        kill -0 "$pid" 2>/dev/null || return 3
        sleep 0.1
    done
    return 1
}

# check_proxy PORT [URL]: one GET (of http://127.0.0.1:PORT/, or URL) must return 200 and exactly
# the upstream's body. Prints the reason on failure.
check_proxy() {
    local out status got url=${2:-http://127.0.0.1:$1/}
    out=$(curl -sSk -m 5 -o "$TMP/check.body" -w '%{http_code}' "$url" 2>&1) || {
        echo "curl failed: $out"
        return 1
    }
    status=$out
    got=$(cat "$TMP/check.body")
    if [ "$status" != 200 ]; then
        echo "status $status, body: $(head -c 200 "$TMP/check.body")"
        return 1
    fi
    if [ "$got" != "$BODY" ]; then
        echo "status 200 but body differs from the upstream's: $(head -c 200 "$TMP/check.body")"
        return 1
    fi
}

# ~100-byte body, no '$' or quotes so it is a literal in nginx's config.
BODY='sluice bench: static upstream body from nginx return 200, no disk I/O'
while [ ${#BODY} -lt 100 ]; do BODY+='.'; done

# nginx_common NAME: the parts both nginx instances share; keeps every path inside $TMP/NAME so
# /etc/nginx, /var/lib/nginx and the system service are never touched.
nginx_common() {
    local d=$TMP/$1
    cat <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; }
EOF
}
nginx_temp_paths() {
    local d=$TMP/$1
    cat <<EOF
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
EOF
}

# start_nginx NAME CPUS: runs nginx in the foreground (daemon off) in the background of this shell.
start_nginx() {
    local name=$1 cpus=$2 rc=0
    (pinned "$cpus" "$NGINX" -p "$TMP/$name/" -c "$TMP/$name/nginx.conf" -e "$TMP/$name/error.log" \
        -g 'daemon off;' >"$TMP/$name/stdout.log" 2>&1) &
    PIDS+=($!)
    local port
    port=$(sed -n 's/.*listen 127\.0\.0\.1:\([0-9]*\).*/\1/p;T;q' "$TMP/$name/nginx.conf")
    wait_port "$port" "$!" || rc=$?
    if [ $rc != 0 ]; then
        echo "bench: nginx ($name) did not start on 127.0.0.1:$port:" >&2
        tail -n 20 "$TMP/$name/error.log" "$TMP/$name/stdout.log" >&2 2>/dev/null || true
        exit 2
    fi
}

mkdir -p "$TMP/upstream" "$TMP/nginx"

# The https scenario's parts: a certificate for the upstream, its TLS listener, and each
# proxy's way to it. Nothing when the scenario is not run.
if ((WANT_TLS)); then
    command -v openssl >/dev/null || die "the https scenario needs openssl (apt-get install openssl)"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -keyout "$TMP/upstream/key.pem" -out "$TMP/upstream/cert.pem" \
        2>/dev/null || die "openssl could not make the upstream's certificate"
fi
upstream_tls_server() {
    ((WANT_TLS)) || return 0
    cat <<TLS
    server {
        listen 127.0.0.1:$UPSTREAM_TLS_PORT ssl reuseport backlog=16384;
        ssl_certificate $TMP/upstream/cert.pem;
        ssl_certificate_key $TMP/upstream/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            default_type text/plain;
            return 200 "$BODY";
        }
        location /new/ {
            keepalive_timeout 0;
            default_type text/plain;
            return 200 "$BODY";
        }
    }
TLS
}
nginx_tls_upstream() {
    ((WANT_TLS)) || return 0
    cat <<TLS
    upstream backend_tls {
        server 127.0.0.1:$UPSTREAM_TLS_PORT;
        keepalive 512;
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }
TLS
}
nginx_tls_location() {
    ((WANT_TLS)) || return 0
    local pair from to
    # /tls/ -> the upstream's keep-alive location, /tls-new/ -> the one closing after each answer
    for pair in "/tls/ /" "/tls-new/ /new/"; do
        read -r from to <<<"$pair"
        cat <<TLS
        location $from {
            proxy_pass https://backend_tls$to;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_server_name on;
            proxy_ssl_name localhost;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
TLS
        kong_headers
        echo "        }"
    done
}
sluice_tls_service() {
    ((WANT_TLS)) || return 0
    cat <<TLS
  - name: bench-upstream-tls
    url: https://localhost:$UPSTREAM_TLS_PORT
    routes:
      - name: bench-tls
        paths: ["/tls/"]
  - name: bench-upstream-tls-new
    url: https://localhost:$UPSTREAM_TLS_PORT/new/
    routes:
      - name: bench-tls-new
        paths: ["/tls-new/"]
TLS
}

{
    nginx_common upstream
    cat <<EOF
http {
    access_log off;
    keepalive_requests 100000;
    keepalive_timeout 75s;
$(nginx_temp_paths upstream)
    server {
        listen 127.0.0.1:$UPSTREAM_PORT reuseport backlog=16384;
        location / {
            default_type text/plain;
            return 200 "$BODY";
        }
    }
$(upstream_tls_server)
}
EOF
} >"$TMP/upstream/nginx.conf"

# BENCH_NGINX_KONG_HEADERS=1: the reference nginx also does the header work Kong's nginx template
# does (and Sluice does): X-Forwarded-*, X-Real-IP, Via and a request id upstream; Via, a request id
# and a latency header downstream. Off by default: the plain reverse proxy is the headline figure.
kong_headers() {
    [ "${BENCH_NGINX_KONG_HEADERS:-0}" = 1 ] || return 0
    cat <<'HDR'
            proxy_set_header Host $proxy_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Forwarded-Path $uri;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Via "1.1 nginx";
            proxy_set_header X-Request-Id $request_id;
            add_header Via "1.1 nginx";
            add_header X-Request-Id $request_id;
            add_header X-Upstream-Latency $upstream_response_time;
HDR
}

# The reference proxy: Kong's keepalive defaults (pool 512, 10000 requests per upstream connection,
# 60 s idle; 10000 requests per client connection), HTTP/1.1 to the upstream with Connection cleared.
{
    nginx_common nginx
    cat <<EOF
http {
    access_log off;
    keepalive_requests 10000;
    keepalive_timeout 75s;
$(nginx_temp_paths nginx)
    upstream backend {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 512;
        keepalive_requests 10000;
        keepalive_timeout 60s;
    }
$(nginx_tls_upstream)
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport backlog=16384;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
$(kong_headers)
        }
$(nginx_tls_location)
    }
}
EOF
} >"$TMP/nginx/nginx.conf"

"$NGINX" -t -q -p "$TMP/upstream/" -c "$TMP/upstream/nginx.conf" -e "$TMP/upstream/error.log" ||
    die "the upstream nginx config does not load (see above)"
"$NGINX" -t -q -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" ||
    die "the reference nginx config does not load (see above)"

start_nginx upstream "$LOAD_CPUS"
start_nginx nginx "$PROXY_CPUS"
if ! why=$(check_proxy "$UPSTREAM_PORT"); then die "the upstream answers wrongly: $why"; fi
if ! why=$(check_proxy "$NGINX_PORT"); then die "the nginx proxy answers wrongly: $why"; fi
if ((WANT_TLS)); then
    why=$(check_proxy "$UPSTREAM_TLS_PORT" "https://127.0.0.1:$UPSTREAM_TLS_PORT/") ||
        die "the upstream's TLS listener answers wrongly: $why"
    why=$(check_proxy "$NGINX_PORT" "http://127.0.0.1:$NGINX_PORT/tls/") ||
        die "the nginx proxy answers /tls/ wrongly: $why"
    why=$(check_proxy "$NGINX_PORT" "http://127.0.0.1:$NGINX_PORT/tls-new/") ||
        die "the nginx proxy answers /tls-new/ wrongly: $why"
fi

# --- Sluice ----------------------------------------------------------------------------------------

SLUICE_STATUS=skipped # skipped | ok | failed
SLUICE_WHY=""
SLUICE_PID=""

start_sluice() {
    mkdir -p "$TMP/sluice"
    cat >"$TMP/kong.yml" <<EOF
_format_version: "3.0"
services:
  - name: bench-upstream
    url: http://127.0.0.1:$UPSTREAM_PORT
    routes:
      - name: bench-root
        paths: ["/"]
$(sluice_tls_service)
EOF
    cat >"$TMP/sluice.conf" <<EOF
daemon = off
worker_processes = 1
database = off
declarative_config = $TMP/kong.yml
proxy_listen = 127.0.0.1:$SLUICE_PORT reuseport backlog=16384
admin_listen = off
status_listen = off
proxy_access_log = off
log_level = error
EOF
    if [ ! -x "$SLUICE_EXE" ]; then
        SLUICE_STATUS=failed
        SLUICE_WHY="$SLUICE_EXE does not exist or is not executable (run make first)"
        return
    fi
    # SLUICE_<KEY> variables override sluice.conf; the benchmark's settings must be the ones above.
    local v rc=0
    for v in $(compgen -e | grep '^SLUICE_' || true); do
        echo "bench: note: not passing $v to Sluice" >&2
        unset "$v"
    done
    (pinned "$PROXY_CPUS" "$SLUICE_EXE" start -c "$TMP/sluice.conf" -p "$TMP/sluice" \
        >"$TMP/sluice.log" 2>&1) &
    SLUICE_PID=$!
    PIDS+=("$SLUICE_PID")
    wait_port "$SLUICE_PORT" "$SLUICE_PID" || rc=$?
    case $rc in
    0) ;;
    1)
        SLUICE_STATUS=failed
        SLUICE_WHY="not listening on 127.0.0.1:$SLUICE_PORT after ${STARTUP_TIMEOUT_S} s"
        return
        ;;
    *)
        local st=0
        wait "$SLUICE_PID" || st=$?
        SLUICE_STATUS=failed
        SLUICE_WHY="'sluice start' exited with status $st before listening on 127.0.0.1:$SLUICE_PORT"
        return
        ;;
    esac
    local why
    if ! why=$(check_proxy "$SLUICE_PORT"); then
        SLUICE_STATUS=failed
        SLUICE_WHY="listening, but GET / through it is wrong: $why"
        return
    fi
    local p
    for p in /tls/ /tls-new/; do
        if ((WANT_TLS)) && ! why=$(check_proxy "$SLUICE_PORT" "http://127.0.0.1:$SLUICE_PORT$p"); then
            SLUICE_STATUS=failed
            SLUICE_WHY="listening, but GET $p through it is wrong: $why"
            return
        fi
    done
    SLUICE_STATUS=ok
}

sluice_alive() { [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null; }

# --- measuring -------------------------------------------------------------------------------------

# parse_wrk FILE: prints "rps p99_ms requests non2xx socket_errors"; rps/p99 are "-" when absent.
parse_wrk() {
    awk '
    function to_ms(v,   n, u) {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") return n / 1000
        if (u == "ms") return n
        if (u == "s") return n * 1000
        if (u == "m") return n * 60000
        if (u == "h") return n * 3600000
        return -1
    }
    /Latency Distribution/ { dist = 1; next }
    dist && $1 == "99%" { p99 = to_ms($2); dist = 0 }
    /^Requests\/sec:/ { rps = $2 }
    / requests in / { reqs = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) err += $i + 0 }
    END {
        if (rps == "") rps = "-"
        if (p99 == "" || p99 < 0) p99 = "-"; else p99 = sprintf("%.3f", p99)
        printf "%s %s %d %d %d\n", rps, p99, reqs, bad, err
    }' "$1"
}

# proxy_pids PROXY: the processes of the proxy under test (nginx: master and workers; Sluice: its one
# process, from the pid files each writes under $TMP).
proxy_pids() {
    local master
    if [ "$1" = nginx ]; then
        master=$(cat "$TMP/nginx/nginx.pid" 2>/dev/null) || return 0
        echo "$master"
        pgrep -P "$master" || true
    else
        cat "$TMP/sluice/pids/sluice.pid" 2>/dev/null || true
    fi
}

# cpu_ns PROXY: CPU time used so far by every thread of the proxy, in ns (schedstat's first field).
# Per request, it is the proxy's own cost, which the machine's scheduling state moves far less
# than rps (bench/README.md, "Current status").
cpu_ns() {
    local pid total=0 t
    for pid in $(proxy_pids "$1"); do
        for t in /proc/"$pid"/task/*/schedstat; do
            [ -r "$t" ] && total=$((total + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
        done
    done
    echo "$total"
}

# run_wrk OUTFILE SECONDS PORT SCENARIO: one bounded wrk run; never fails the script.
run_wrk() {
    local out=$1 secs=$2 port=$3 scen=$4 rc=0 args
    mapfile -t args < <("scenario_args_$scen")
    (pinned "$LOAD_CPUS" timeout -k 5 $((secs + 30)) wrk --latency -t"$THREADS" -c"$CONNECTIONS" \
        -d"${secs}s" "${args[@]}" "http://127.0.0.1:$port$(scenario_path "$scen")" >"$out" 2>&1) &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    [ $rc = 0 ] || echo "(wrk exited with status $rc)" >>"$out"
}

# median FORMAT VALUE...: the median of the numeric VALUEs ("-" skipped) printed with the printf
# FORMAT; "-" when there is none.
median() {
    local fmt=$1
    shift
    printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g | awk -v fmt="$fmt\n" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "-"; exit }
            if (NR % 2) printf fmt, v[(NR + 1) / 2]
            else printf fmt, (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}
ratio() {
    if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "-" }'
    else
        echo "-"
    fi
}

# verdict RATIO ge|le: whether RATIO meets a target of ">= 1" or "<= 1".
verdict() {
    awk -v v="$1" -v op="$2" 'BEGIN {
        if (v == "-") print "n/a"
        else if ((op == "ge" && v >= 1) || (op == "le" && v <= 1)) print "met"
        else print "NOT met"
    }'
}

machine() {
    echo "machine:  $(nproc) CPUs, $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//'), $(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel:   $(uname -srm)"
    echo "nginx:    $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
    echo "wrk:      $(wrk -v 2>&1 | head -n1 | awk '{ print $2 }')"
    if [ "$NGINX_ONLY" = 0 ] && [ -x "$SLUICE_EXE" ]; then
        local v
        v=$(timeout 5 "$SLUICE_EXE" version 2>/dev/null | head -n1) || v="('sluice version' failed)"
        echo "sluice:   $v"
    fi
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average before the run)"
    echo "settings: ROUNDS=$ROUNDS DURATION=${DURATION_S}s WARMUP=${WARMUP_S}s CONNECTIONS=$CONNECTIONS THREADS=$THREADS PIN=$PIN${PROXY_CPUS:+ (proxies on CPU $PROXY_CPUS, upstream+wrk on CPUs $LOAD_CPUS)}"
}

if [ "$NGINX_ONLY" = 0 ]; then
    start_sluice
    if [ "$SLUICE_STATUS" = failed ]; then
        echo "bench: SLUICE FAILED TO START: $SLUICE_WHY" >&2
        [ -s "$TMP/sluice.log" ] && { echo "--- sluice output (last 20 lines):" >&2; tail -n 20 "$TMP/sluice.log" >&2; }
        echo "bench: measuring nginx only" >&2
    fi
fi

PROXIES=(nginx)
[ "$SLUICE_STATUS" = ok ] && PROXIES+=(sluice)
declare -A PORT=([nginx]=$NGINX_PORT [sluice]=$SLUICE_PORT)
declare -A RPS P99 CPU NOTE
INVALID=0

echo "sluice bench: wrk -> proxy -> nginx upstream (127.0.0.1:$UPSTREAM_PORT), all on this machine"
machine
echo

for scen in $SCENARIOS; do
    echo "== scenario '$scen': $("scenario_desc_$scen")"
    for px in "${PROXIES[@]}"; do
        if ((WARMUP_S > 0)); then
            echo "   warm-up $px (${WARMUP_S}s)"
            run_wrk "$TMP/warmup-$scen-$px.txt" "$WARMUP_S" "${PORT[$px]}" "$scen"
        fi
    done
    for ((r = 1; r <= ROUNDS; r++)); do
        for px in "${PROXIES[@]}"; do
            key=$scen:$px:$r
            out=$TMP/wrk-$scen-$px-$r.txt
            if [ "$px" = sluice ] && ! sluice_alive; then
                RPS[$key]=-
                P99[$key]=-
                NOTE[$key]="sluice died"
                INVALID=1
                continue
            fi
            echo "   round $r/$ROUNDS: $px (${DURATION_S}s)"
            cpu0=$(cpu_ns "$px")
            run_wrk "$out" "$DURATION_S" "${PORT[$px]}" "$scen"
            cpu1=$(cpu_ns "$px")
            read -r rps p99 reqs bad err < <(parse_wrk "$out")
            RPS[$key]=$rps
            P99[$key]=$p99
            CPU[$key]=-
            ((reqs > 0 && cpu1 > cpu0)) &&
                CPU[$key]=$(awk -v d=$((cpu1 - cpu0)) -v n="$reqs" 'BEGIN { printf "%.1f", d / n / 1000 }')
            note=""
            ((err > 0)) && note="$err socket errors"
            if ((bad > 0)) || [ "$rps" = - ] || [ "$p99" = - ] || ((reqs == 0)); then
                note="INVALID: $reqs requests, $bad non-2xx/3xx${note:+, $note}"
                INVALID=1
                echo "   --- wrk output for $px round $r:" >&2
                sed 's/^/   | /' "$out" >&2
            fi
            NOTE[$key]=$note
        done
    done
    echo
done

# --- report ----------------------------------------------------------------------------------------

echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min; wrk, the proxy and the upstream alone keep it near 3)"
echo

for scen in $SCENARIOS; do
    echo "== results '$scen': $("scenario_desc_$scen")"
    printf '%-8s %12s %12s %9s %12s %12s %9s  %s\n' round "nginx rps" "nginx p99ms" "cpu us/req" \
        "sluice rps" "sluice p99ms" "cpu us/req" notes
    for ((r = 1; r <= ROUNDS; r++)); do
        nk=$scen:nginx:$r
        sk=$scen:sluice:$r
        notes=${NOTE[$nk]:+nginx: ${NOTE[$nk]}}
        [ -n "${NOTE[$sk]:-}" ] && notes="${notes:+$notes; }sluice: ${NOTE[$sk]}"
        printf '%-8s %12s %12s %9s %12s %12s %9s  %s\n' "$r" "${RPS[$nk]}" "${P99[$nk]}" \
            "${CPU[$nk]:--}" "${RPS[$sk]:--}" "${P99[$sk]:--}" "${CPU[$sk]:--}" "$notes" | sed 's/ *$//'
    done
    nr=() np=() nc=() sr=() sp=() sc=()
    for ((r = 1; r <= ROUNDS; r++)); do
        nr+=("${RPS[$scen:nginx:$r]}")
        np+=("${P99[$scen:nginx:$r]}")
        nc+=("${CPU[$scen:nginx:$r]:--}")
        sr+=("${RPS[$scen:sluice:$r]:--}")
        sp+=("${P99[$scen:sluice:$r]:--}")
        sc+=("${CPU[$scen:sluice:$r]:--}")
    done
    mnr=$(median %.2f "${nr[@]}")
    mnp=$(median %.3f "${np[@]}")
    mnc=$(median %.1f "${nc[@]}")
    msr=$(median %.2f "${sr[@]}")
    msp=$(median %.3f "${sp[@]}")
    msc=$(median %.1f "${sc[@]}")
    printf '%-8s %12s %12s %9s %12s %12s %9s\n' median "$mnr" "$mnp" "$mnc" "$msr" "$msp" "$msc"
    if [ "$SLUICE_STATUS" = ok ]; then
        rr=$(ratio "$msr" "$mnr")
        pr=$(ratio "$msp" "$mnp")
        echo "sluice/nginx rps: $rr  (target >= 1: $(verdict "$rr" ge))"
        echo "sluice/nginx p99: $pr  (target <= 1, lower is better: $(verdict "$pr" le))"
        echo "sluice/nginx proxy CPU per request: $(ratio "$msc" "$mnc")  (lower is better; not a target)"
        # Paired view: each Sluice round against the nginx round just before it, which ran in
        # nearly the same state of the machine (bench/README.md: the VM changes state within a run).
        pair_rr=() pair_pr=() won_r=0 won_p=0 paired=0
        for ((r = 1; r <= ROUNDS; r++)); do
            a=$(ratio "${RPS[$scen:sluice:$r]:--}" "${RPS[$scen:nginx:$r]}")
            b=$(ratio "${P99[$scen:sluice:$r]:--}" "${P99[$scen:nginx:$r]}")
            [ "$a" = - ] || [ "$b" = - ] && continue
            paired=$((paired + 1))
            pair_rr+=("$a")
            pair_pr+=("$b")
            awk -v v="$a" 'BEGIN { exit !(v >= 1) }' && won_r=$((won_r + 1))
            awk -v v="$b" 'BEGIN { exit !(v <= 1) }' && won_p=$((won_p + 1))
        done
        echo "paired rounds: median ratio rps $(median %.3f "${pair_rr[@]}"), p99 $(median %.3f "${pair_pr[@]}");" \
            "Sluice rps >= nginx in $won_r of $paired rounds, p99 <= nginx in $won_p of $paired"
    elif [ "$NGINX_ONLY" = 1 ]; then
        echo "(--nginx-only: no Sluice figures, no ratios)"
    else
        echo "(no Sluice figures: Sluice failed to start; see below)"
    fi
    echo
done

if [ "$SLUICE_STATUS" = failed ]; then
    echo "SLUICE FAILED TO START: $SLUICE_WHY"
    echo "(only the nginx figures above were measured)"
    exit 1
fi
if [ "$SLUICE_STATUS" = ok ] && ! sluice_alive; then
    st=0
    wait "$SLUICE_PID" 2>/dev/null || st=$?
    echo "SLUICE EXITED DURING THE BENCHMARK (status $st$([ "$st" = 0 ] && echo ': did it daemonize despite daemon = off?')); last lines of its output:"
    tail -n 20 "$TMP/sluice.log" 2>/dev/null || true
    exit 1
fi
if [ "$INVALID" = 1 ]; then
    echo "some runs were invalid (see notes); the figures above are not a result"
    exit 1
fi
exit 0
