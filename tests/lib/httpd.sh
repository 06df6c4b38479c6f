# A throw-away web server for end-to-end tests (sourced, not run): nginx
# serving one directory, read-only, on 127.0.0.1 at a free port, with its own
# configuration, pid, log and temporary files in a scratch directory. Nothing
# of the system's nginx is used or touched (/etc/nginx, /var/log/nginx,
# /var/lib/nginx, /run/nginx.pid, the nginx service).
#
#   httpd_start DIR   start serving DIR (over TLS when HTTPD_TLS_CERT and
#                     HTTPD_TLS_KEY name PEM files; HTTPD_URL is then
#                     https://localhost:PORT; HTTPD_LOG_FORMAT: the access
#                     log's nginx log_format, default "combined"); sets HTTPD_PORT, HTTPD_URL
#                     (http://127.0.0.1:PORT, no slash at the end), HTTPD_PID
#                     (the master process), HTTPD_LOG (the access log) and
#                     HTTPD_SCRATCH; returns non-zero with a message on stderr
#                     when nginx does not answer
#   httpd_stop        stop it (and its workers) and remove its scratch
#                     directory; does nothing when no server runs, so it can
#                     sit in an EXIT trap: trap 'httpd_stop; remove_scratch' EXIT
#
# The scratch directory is made under $T when the caller has one, else under
# $TMPDIR or /tmp. Run as root, the workers stay root (`user root;`), so they
# can read a 0700 mktemp directory. Besides the caller's trap, a watchdog
# stops nginx within a second or two when the calling shell disappears, even
# by kill -9: no nginx is ever left running.
# shellcheck shell=bash
# shellcheck disable=SC2034 # HTTPD_PORT, HTTPD_URL, HTTPD_LOG are for the caller

HTTPD_PID=
HTTPD_WATCHDOG=
HTTPD_PORT=
HTTPD_URL=
HTTPD_LOG=
HTTPD_SCRATCH=
HTTPD_ROOT=

# _httpd_port_busy PORT: something listens on PORT (IPv4 or IPv6, any address).
_httpd_port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# _httpd_conf PORT TOKEN: the configuration, on standard output.
_httpd_conf() {
    local s=$HTTPD_SCRATCH
    [ "$(id -u)" -eq 0 ] && echo "user root;"
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $s/nginx.pid;
lock_file $s/nginx.lock;
error_log $s/error.log warn;
events { worker_connections 128; }
http {
    ${HTTPD_LOG_FORMAT:+log_format consign '$HTTPD_LOG_FORMAT';}
    access_log $s/access.log${HTTPD_LOG_FORMAT:+ consign};
    client_body_temp_path $s/tmp/body;
    proxy_temp_path $s/tmp/proxy;
    fastcgi_temp_path $s/tmp/fastcgi;
    uwsgi_temp_path $s/tmp/uwsgi;
    scgi_temp_path $s/tmp/scgi;
    default_type application/octet-stream;
    types {
        text/plain txt asc sources list repo fingerprint;
        text/xml xml;
    }
    sendfile on;
    keepalive_timeout 5;
    server {
        listen 127.0.0.1:$1${HTTPD_TLS_CERT:+ ssl};
        ${HTTPD_TLS_CERT:+ssl_certificate $HTTPD_TLS_CERT; ssl_certificate_key $HTTPD_TLS_KEY;}
        server_name localhost;
        root $HTTPD_ROOT;
        autoindex on;
        location = /.httpd-probe { default_type text/plain; return 200 "$2"; }
        location / { limit_except GET { deny all; } }
    }
}
EOF
}

# _httpd_kill PID...: TERM, up to 5 s for them to go, then KILL.
_httpd_kill() {
    local _ pid alive
    kill -TERM "$@" 2>/dev/null || true
    for _ in $(seq 50); do
        alive=
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null || true
}

httpd_start() {
    local dir=${1:?httpd_start DIR} port token pid code _
    if [ ! -d "$dir" ]; then
        echo "httpd: $dir is not a directory" >&2
        return 1
    fi
    if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
        echo "httpd: nginx is not installed (Debian package nginx)" >&2
        return 1
    fi
    [ -z "$HTTPD_PID" ] || httpd_stop
    HTTPD_ROOT=$(cd "$dir" && pwd)
    HTTPD_SCRATCH=$(mktemp -d "${T:-${TMPDIR:-/tmp}}/httpd.XXXXXX")
    mkdir -p "$HTTPD_SCRATCH/tmp"
    token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        _httpd_port_busy "$port" && continue
        _httpd_conf "$port" "$token" >"$HTTPD_SCRATCH/nginx.conf"
        PATH=$PATH:/usr/sbin nginx -p "$HTTPD_SCRATCH/" -e "$HTTPD_SCRATCH/error.log" \
            -c "$HTTPD_SCRATCH/nginx.conf" </dev/null >>"$HTTPD_SCRATCH/nginx.out" 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            code=$(curl -sk --noproxy '*' --max-time 2 \
                "http${HTTPD_TLS_CERT:+s}://127.0.0.1:$port/.httpd-probe" 2>/dev/null || true)
            if [ "$code" = "$token" ]; then
                HTTPD_PID=$pid
                HTTPD_PORT=$port
                HTTPD_URL=http://127.0.0.1:$port
                [ -z "${HTTPD_TLS_CERT:-}" ] || HTTPD_URL=https://localhost:$port
                HTTPD_LOG=$HTTPD_SCRATCH/access.log
                # The watchdog: nginx goes when this shell goes, however it goes.
                (
                    parent=$$
                    while kill -0 "$parent" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
                        sleep 1
                    done
                    workers=$(pgrep -P "$pid" 2>/dev/null || true)
                    # shellcheck disable=SC2086 # a list of pids
                    kill -0 "$pid" 2>/dev/null && _httpd_kill "$pid" $workers
                ) </dev/null >/dev/null 2>&1 &
                HTTPD_WATCHDOG=$!
                return 0
            fi
            sleep 0.05
        done
        # Not ours, or not answering: another process took the port, or nginx failed.
        # shellcheck disable=SC2046 # a list of pids
        _httpd_kill "$pid" $(pgrep -P "$pid" 2>/dev/null || true)
        wait "$pid" 2>/dev/null || true
    done
    echo "httpd: nginx did not start; its log:" >&2
    tail -n 5 "$HTTPD_SCRATCH/error.log" "$HTTPD_SCRATCH/nginx.out" >&2 2>/dev/null || true
    rm -rf "$HTTPD_SCRATCH"
    HTTPD_SCRATCH=
    return 1
}

httpd_stop() {
    local workers
    if [ -n "$HTTPD_PID" ]; then
        workers=$(pgrep -P "$HTTPD_PID" 2>/dev/null || true)
        # shellcheck disable=SC2086 # a list of pids
        _httpd_kill "$HTTPD_PID" $workers
        wait "$HTTPD_PID" 2>/dev/null || true
    fi
    if [ -n "$HTTPD_WATCHDOG" ]; then
        kill "$HTTPD_WATCHDOG" 2>/dev/null || true
        wait "$HTTPD_WATCHDOG" 2>/dev/null || true
    fi
    if [ -n "$HTTPD_SCRATCH" ] && [ "${CONSIGN_KEEP_TMP:-}" != 1 ]; then
        rm -rf "$HTTPD_SCRATCH"
    fi
    HTTPD_PID='' HTTPD_WATCHDOG='' HTTPD_PORT='' HTTPD_URL='' HTTPD_LOG='' HTTPD_SCRATCH=''
    return 0
}

