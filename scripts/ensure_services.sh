#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are up: start them if they are installed but stopped,
# wait until they answer, and fail with a message that says what to do otherwise.
# Only local services are managed: a DATABASE_URL or REDIS_URL pointing elsewhere is left alone, and a
# SQLite DATABASE_URL needs no server.
set -euo pipefail

WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-30}"

# Prints "scheme host port" of a URL (python3 is always there: the virtualenv is built from it).
url_parts() {
    python3 - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit
url, default_port = sys.argv[1], sys.argv[2]
u = urlsplit(url)
print(u.scheme or "-", u.hostname or "127.0.0.1", u.port or default_port)
PY
}

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

wait_for() {  # wait_for NAME CHECK-FUNCTION ARGS...
    local name="$1"; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "ensure_services.sh: $name did not answer within ${WAIT_SECONDS} s." >&2
            return 1
        fi
        sleep 0.5
    done
}

# --- PostgreSQL ---------------------------------------------------------------------------------------------
pg_up() {  # pg_up HOST PORT
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$1" -p "$2"
    else
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
    fi
}

read -r pg_scheme pg_host pg_port < <(url_parts "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cpms}" 5432)
if [[ "$pg_scheme" == postgres* ]] && is_local "$pg_host"; then
    if ! pg_up "$pg_host" "$pg_port"; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
            echo "ensure_services.sh: PostgreSQL is not answering on $pg_host:$pg_port and is not installed." >&2
            echo "  Install it (Debian: apt-get install -y postgresql) or set DATABASE_URL to a PostgreSQL you have." >&2
            exit 1
        fi
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        echo "ensure_services.sh: starting PostgreSQL $version"
        if [ "$(id -u)" -eq 0 ]; then
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        else
            sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
                || pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        fi
        wait_for "PostgreSQL on $pg_host:$pg_port" pg_up "$pg_host" "$pg_port" || {
            echo "  Start it by hand: pg_ctlcluster --skip-systemctl-redirect $version main start" >&2
            exit 1
        }
    fi
    echo "ensure_services.sh: PostgreSQL answers on $pg_host:$pg_port"
fi

# --- Redis --------------------------------------------------------------------------------------------------
redis_up() (  # redis_up HOST PORT: a real PING, not only an open port
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ "$reply" == +PONG* ]]
) 2>/dev/null

read -r redis_scheme redis_host redis_port < <(url_parts "${REDIS_URL:-redis://127.0.0.1:6379/0}" 6379)
if [[ "$redis_scheme" == redis ]] && is_local "$redis_host"; then
    if ! redis_up "$redis_host" "$redis_port"; then
        if ! command -v redis-server >/dev/null 2>&1; then
            echo "ensure_services.sh: Redis is not answering on $redis_host:$redis_port and redis-server is not installed." >&2
            echo "  Install it (Debian: apt-get install -y redis-server) or set REDIS_URL to a Redis you have." >&2
            exit 1
        fi
        echo "ensure_services.sh: starting Redis on $redis_host:$redis_port"
        redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
        wait_for "Redis on $redis_host:$redis_port" redis_up "$redis_host" "$redis_port" || exit 1
    fi
    echo "ensure_services.sh: Redis answers on $redis_host:$redis_port"
fi
