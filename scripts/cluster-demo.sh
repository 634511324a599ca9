#!/usr/bin/env bash
# The multi-machine stack of the README, on this machine (everything on 127.0.0.1):
#   PostgreSQL (databases prefect and mlflow) → prefect server, mlflow server
#   dask scheduler + 2 dask workers (1 thread each)
#   process work pool "arcloop" + prefect worker, and `prefect deploy --all` from prefect.yaml,
#   the nightly benchmark pointed at the Dask cluster and at the MLflow server.
#
#   scripts/cluster-demo.sh up     [STATE_DIR]    start everything, wait until each part is ready
#   scripts/cluster-demo.sh status [STATE_DIR]    what runs, where (exit 1 if a part is down)
#   scripts/cluster-demo.sh down   [STATE_DIR] [--purge]
#                                   stop everything; keeps the data, logs and artifacts unless --purge
#   scripts/cluster-demo.sh pg-bin                the PostgreSQL binaries it uses (exit 1: none found)
#
# STATE_DIR: the argument, else $ARCLOOP_CLUSTER_DIR, else ./arcloop-cluster. It holds pids/, logs/,
# ports, env (source it: PREFECT_API_URL, MLFLOW_TRACKING_URI, ARCLOOP_DASK_ADDRESS), the database,
# MLflow's artifacts and Prefect's home. `up` after `down` reuses the database and the ports.
# Fixed ports: ARCLOOP_PG_PORT, ARCLOOP_PREFECT_PORT, ARCLOOP_MLFLOW_PORT, ARCLOOP_DASK_PORT
# (default: free ones). PostgreSQL binaries: $PG_BIN, else the folder of the pg_ctl on PATH (links
# followed), else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin (Debian's).
# Needs: pip install -e '.[dask,cluster]' and PostgreSQL (Debian: apt-get install postgresql).
# The database trusts every connection from 127.0.0.1: a demo, not a production setup.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
POOL=arcloop
N_DASK_WORKERS=2
READY_TIMEOUT="${ARCLOOP_READY_TIMEOUT:-180}"

die() { echo "cluster-demo: $*" >&2; exit 2; }

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

command_name="${1:-}"
[ -n "$command_name" ] || usage
shift
PURGE=0
STATE_ARG=""
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        -h|--help) usage ;;
        -*) die "unknown option $arg" ;;
        *) STATE_ARG="$arg" ;;
    esac
done
STATE_INPUT="${STATE_ARG:-${ARCLOOP_CLUSTER_DIR:-./arcloop-cluster}}"
if [ "$command_name" != pg-bin ]; then mkdir -p "$STATE_INPUT"; fi
STATE="$(cd "$STATE_INPUT" 2>/dev/null && pwd || echo "$STATE_INPUT")"
PIDS="$STATE/pids"
LOGS="$STATE/logs"

# --- helpers ---------------------------------------------------------------------------------

PG_TOOLS="pg_ctl initdb pg_isready psql createdb"

has_pg_tools() {
    local tool
    [ -n "$1" ] || return 1
    for tool in $PG_TOOLS; do [ -x "$1/$tool" ] || return 1; done
}

# Debian's /usr/bin/psql etc. are wrappers (pg_wrapper) and it has no pg_ctl on PATH; other systems
# (or a hand install, links in /usr/local/bin) have them all in one folder, found from pg_ctl.
find_pg_bin() {
    local dir on_path=""
    if [ -n "${PG_BIN:-}" ]; then has_pg_tools "$PG_BIN" && echo "$PG_BIN"; return; fi
    if command -v pg_ctl >/dev/null 2>&1; then on_path="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"; fi
    for dir in "$on_path" "$(pg_config --bindir 2>/dev/null || true)" \
        $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if has_pg_tools "$dir"; then echo "$dir"; return 0; fi
    done
    return 1
}

# PostgreSQL refuses to run as root: then its commands run as the `postgres` user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

# Start a command in its own session (so its process group is its pid): `down` kills the group,
# the process and everything it started (uvicorn workers, nannies, flow-run subprocesses).
launch() {
    local name="$1"; shift
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$PIDS/$name.pid"
}

fail_with_log() {
    local name="$1" why="$2"
    echo "cluster-demo: $name $why; last lines of $LOGS/$name.log:" >&2
    tail -n 30 "$LOGS/$name.log" >&2 || true
    exit 1
}

# Wait until `check` succeeds; give up (with the part's log) if its process dies or on timeout.
wait_ready() {
    local name="$1" check="$2" deadline=$((SECONDS + READY_TIMEOUT))
    until eval "$check" >/dev/null 2>&1; do
        if [ -f "$PIDS/$name.pid" ] && ! alive "$name"; then fail_with_log "$name" "exited"; fi
        [ $SECONDS -lt $deadline ] || fail_with_log "$name" "not ready after $READY_TIMEOUT s"
        sleep 1
    done
}

http_ok() {
    "$PYTHON" -c 'import sys, urllib.request; sys.exit(urllib.request.urlopen(sys.argv[1], timeout=3).status != 200)' "$1"
}

dask_workers_at_least() {
    "$PYTHON" - "$DASK_ADDRESS" "$1" <<'EOF'
import sys
from distributed import Client
with Client(sys.argv[1], timeout=5) as client:
    sys.exit(len(client.scheduler_info()["workers"]) < int(sys.argv[2]))
EOF
}

prefect_worker_online() {
    "$PYTHON" - "$POOL" <<'EOF'
import asyncio, sys
from prefect.client.orchestration import get_client
async def main() -> bool:
    async with get_client() as client:
        workers = await client.read_workers_for_work_pool(sys.argv[1])
    return any(str(worker.status).upper().endswith("ONLINE") for worker in workers)
sys.exit(not asyncio.run(main()))
EOF
}

load_ports() {
    PG_PORT="${ARCLOOP_PG_PORT:-}"; PREFECT_PORT="${ARCLOOP_PREFECT_PORT:-}"
    MLFLOW_PORT="${ARCLOOP_MLFLOW_PORT:-}"; DASK_PORT="${ARCLOOP_DASK_PORT:-}"
    if [ -f "$STATE/ports" ]; then
        # shellcheck disable=SC1091
        . "$STATE/ports"
    fi
}

set_urls() {
    PG_URL="arc@127.0.0.1:$PG_PORT"
    PREFECT_API="http://127.0.0.1:$PREFECT_PORT/api"
    MLFLOW_URI="http://127.0.0.1:$MLFLOW_PORT"
    DASK_ADDRESS="tcp://127.0.0.1:$DASK_PORT"
}

# The same environment for every part: Prefect's home in the state folder, nothing phones home,
# the checkout first on the path (workers import the code this script belongs to).
# ARCLOOP_CLUSTER_STATE marks every process of the stack, including those that leave their part's
# process group (Prefect can start flow runs in sessions of their own): `down` finds them by it.
common_env() {
    export ARCLOOP_CLUSTER_STATE="$STATE"
    export PREFECT_HOME="$STATE/prefect-home"
    export PREFECT_API_URL="$PREFECT_API"
    export PREFECT_SERVER_ANALYTICS_ENABLED=false
    export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore
    export DO_NOT_TRACK=true
    export MLFLOW_DISABLE_TELEMETRY=true
    export ARCLOOP_HOME="$REPO"
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
    export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
}

# --- up --------------------------------------------------------------------------------------

# The database's folder by its real path: postgres may not traverse the state folder's parents.
pg_home() { readlink -f "$STATE/postgres"; }

start_postgres() {
    local data
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root, PostgreSQL needs the 'postgres' user (apt-get install postgresql)"
        if [ ! -e "$STATE/postgres" ]; then
            mkdir -p "$STATE/postgres"
            chown postgres "$STATE/postgres"
            if ! runuser -u postgres -- test -w "$STATE/postgres"; then
                # The postgres user cannot reach this folder (a private parent, e.g. pytest's tmp):
                # the data live in a world-traversable temporary folder, linked from the state folder.
                rmdir "$STATE/postgres"
                local outside
                outside="$(mktemp -d /tmp/arcloop-pg.XXXXXX)"
                chown postgres "$outside"
                ln -s "$outside" "$STATE/postgres"
            fi
        fi
    else
        mkdir -p "$STATE/postgres"
    fi
    data="$(pg_home)/data"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$PG/initdb" -D "$data" -A trust -U arc >"$LOGS/postgres-initdb.log" 2>&1 \
            || fail_with_log postgres-initdb "failed"
    fi
    # TCP on 127.0.0.1 only; no Unix socket (its path would be too long under a deep state folder).
    as_pg "$PG/pg_ctl" -D "$data" -l "$(pg_home)/server.log" -w -t "$READY_TIMEOUT" \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start \
        >"$LOGS/postgres.log" 2>&1 || { cat "$(pg_home)/server.log" >>"$LOGS/postgres.log"; fail_with_log postgres "did not start"; }
    wait_ready postgres "'$PG/pg_isready' -q -h 127.0.0.1 -p $PG_PORT"
    head -n 1 "$data/postmaster.pid" >"$PIDS/postgres.pid"
    local db
    for db in prefect mlflow; do
        if ! "$PG/psql" -h 127.0.0.1 -p "$PG_PORT" -U arc -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
            "$PG/createdb" -h 127.0.0.1 -p "$PG_PORT" -U arc "$db"
        fi
    done
    echo "postgres   127.0.0.1:$PG_PORT (databases prefect, mlflow)"
}

start_prefect_server() {
    PREFECT_SERVER_DATABASE_CONNECTION_URL="postgresql+asyncpg://$PG_URL/prefect" \
    PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE=200 \
    PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE=200 \
    PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL=1 \
        launch prefect-server env -u PREFECT_API_URL prefect server start --host 127.0.0.1 --port "$PREFECT_PORT"
    wait_ready prefect-server "http_ok '$PREFECT_API/health'"
    echo "prefect    $PREFECT_API (UI http://127.0.0.1:$PREFECT_PORT)"
}

start_mlflow_server() {
    mkdir -p "$STATE/mlflow-artifacts"
    # Artifacts are served by the server (mlflow-artifacts:/): clients on other machines upload them
    # through HTTP instead of writing to a path only this machine has.
    launch mlflow-server mlflow server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
        --backend-store-uri "postgresql+pg8000://$PG_URL/mlflow" \
        --serve-artifacts --artifacts-destination "$STATE/mlflow-artifacts"
    wait_ready mlflow-server "http_ok '$MLFLOW_URI/health'"
    echo "mlflow     $MLFLOW_URI"
}

start_dask() {
    local i
    launch dask-scheduler dask scheduler --host 127.0.0.1 --port "$DASK_PORT" --no-dashboard
    wait_ready dask-scheduler "dask_workers_at_least 0"
    for i in $(seq 1 "$N_DASK_WORKERS"); do
        mkdir -p "$STATE/dask/worker-$i"
        launch "dask-worker-$i" dask worker "$DASK_ADDRESS" --host 127.0.0.1 --nthreads 1 --nworkers 1 \
            --name "worker-$i" --no-dashboard --local-directory "$STATE/dask/worker-$i"
    done
    wait_ready dask-worker-1 "dask_workers_at_least $N_DASK_WORKERS"
    echo "dask       $DASK_ADDRESS ($N_DASK_WORKERS workers, 1 thread each)"
}

deploy() {
    (
        cd "$REPO"
        prefect work-pool create "$POOL" --type process --overwrite
        prefect deploy --all
        # The nightly benchmark of this stack: campaigns on the Dask cluster, runs on the MLflow server.
        prefect deploy --name nightly-benchmark --params \
            "{\"dask_address\": \"$DASK_ADDRESS\", \"tracking_uri\": \"$MLFLOW_URI\"}"
    ) >"$LOGS/deploy.log" 2>&1 </dev/null || fail_with_log deploy "failed"
    launch prefect-worker prefect worker start --pool "$POOL" --type process
    wait_ready prefect-worker "prefect_worker_online"
    echo "worker     pool $POOL; deployments: $(grep -o "'arcloop-[a-z-]*/[a-z-]*'" "$LOGS/deploy.log" | sort -u | tr '\n' ' ')"
}

up() {
    local name
    for name in $(ls "$PIDS" 2>/dev/null | sed 's/\.pid$//'); do
        if alive "$name"; then die "$name is already running (state $STATE): run  $0 down $STATE  first"; fi
    done
    PG="$(find_pg_bin)" || die "PostgreSQL binaries not found: apt-get install postgresql, or set PG_BIN"
    local tool
    for tool in prefect mlflow dask; do
        command -v "$tool" >/dev/null || die "'$tool' not on PATH: activate the venv (pip install -e '.[dask,cluster]')"
    done
    "$PYTHON" -c "import pg8000, asyncpg" 2>/dev/null || die "database drivers missing: pip install -e '.[cluster]'"
    mkdir -p "$PIDS" "$LOGS"
    rm -f "$PIDS"/*.pid
    load_ports
    : "${PG_PORT:=$(free_port)}" "${PREFECT_PORT:=$(free_port)}" "${MLFLOW_PORT:=$(free_port)}" "${DASK_PORT:=$(free_port)}"
    printf 'PG_PORT=%s\nPREFECT_PORT=%s\nMLFLOW_PORT=%s\nDASK_PORT=%s\n' \
        "$PG_PORT" "$PREFECT_PORT" "$MLFLOW_PORT" "$DASK_PORT" >"$STATE/ports"
    set_urls
    common_env
    local started=$SECONDS
    # A part that fails leaves the others running: take them down again, keeping the logs; the
    # parts still starting in the background (their readiness checks) go too.
    trap 'echo "cluster-demo: up failed; stopping what started (logs in $LOGS)" >&2
          kill $(jobs -p) 2>/dev/null || true; down_all' EXIT
    start_postgres
    start_prefect_server &
    local prefect_job=$!
    start_mlflow_server &
    local mlflow_job=$!
    start_dask
    wait "$prefect_job" || exit 1
    wait "$mlflow_job" || exit 1
    deploy
    trap - EXIT
    cat >"$STATE/env" <<EOF
export PREFECT_API_URL=$PREFECT_API
export MLFLOW_TRACKING_URI=$MLFLOW_URI
export ARCLOOP_DASK_ADDRESS=$DASK_ADDRESS
EOF
    echo "up in $((SECONDS - started)) s; state $STATE; source $STATE/env"
    echo "try:  prefect deployment run 'arcloop-benchmark/nightly-benchmark'"
}

# --- status / down ---------------------------------------------------------------------------

PARTS="postgres prefect-server mlflow-server dask-scheduler $(seq -f 'dask-worker-%g' 1 "$N_DASK_WORKERS") prefect-worker"

status() {
    local name down=0
    for name in $PARTS; do
        if alive "$name"; then echo "up    $name (pid $(cat "$PIDS/$name.pid"))"
        else echo "down  $name"; down=1; fi
    done
    if [ "$down" = 0 ] && [ -f "$STATE/env" ]; then cat "$STATE/env"; fi
    exit $down
}

# The processes that carry this stack's mark (Linux: /proc), this shell aside.
marked_pids() {
    local environ pid
    for environ in /proc/[0-9]*/environ; do
        pid="${environ#/proc/}"; pid="${pid%/environ}"
        [ "$pid" = "$$" ] && continue
        if grep -qzxF "ARCLOOP_CLUSTER_STATE=$STATE" "$environ" 2>/dev/null; then echo "$pid"; fi
    done
}

# SIGTERM to every part's process group at once, SIGKILL to the groups still there after 15 s
# (a prefect worker takes ~20 s to finish on SIGTERM). The database stops last, cleanly; then
# whatever still carries the stack's mark (a flow run in its own session, a part whose pid file was
# never written) gets SIGTERM, and SIGKILL 5 s later.
down_all() {
    local name pid deadline running
    local names=()
    # What this shell starts from here on is not part of the stack (`up` failing comes here).
    unset ARCLOOP_CLUSTER_STATE
    for name in $PARTS; do
        [ "$name" != postgres ] && [ -f "$PIDS/$name.pid" ] && names+=("$name")
    done
    for name in "${names[@]}"; do
        pid="$(cat "$PIDS/$name.pid")"
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        running=0
        for name in "${names[@]}"; do alive "$name" && running=1; done
        [ "$running" = 0 ] && break
        sleep 0.5
    done
    for name in "${names[@]}"; do
        kill -KILL -- "-$(cat "$PIDS/$name.pid")" 2>/dev/null || true
        rm -f "$PIDS/$name.pid"
    done
    if [ -e "$STATE/postgres" ] && [ -f "$(pg_home)/data/postmaster.pid" ]; then
        PG="$(find_pg_bin)" || die "PostgreSQL binaries not found (set PG_BIN) to stop the database"
        as_pg "$PG/pg_ctl" -D "$(pg_home)/data" -m fast -w stop >>"$LOGS/postgres.log" 2>&1 || true
    fi
    rm -f "$PIDS/postgres.pid"
    local left
    left="$(marked_pids)"
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086
        kill -TERM $left 2>/dev/null || true
        deadline=$((SECONDS + 5))
        while [ $SECONDS -lt $deadline ] && [ -n "$(marked_pids)" ]; do sleep 0.5; done
        left="$(marked_pids)"
        # shellcheck disable=SC2086
        if [ -n "$left" ]; then kill -KILL $left 2>/dev/null || true; fi
    fi
}

down() {
    down_all
    if [ "$PURGE" = 1 ]; then
        [ -L "$STATE/postgres" ] && rm -rf "$(readlink "$STATE/postgres")"
        rm -rf "$STATE"
        echo "stopped; removed $STATE"
    else
        echo "stopped; data, logs and artifacts kept in $STATE (down --purge removes them)"
    fi
}

case "$command_name" in
    up) up ;;
    down) down ;;
    status) status ;;
    pg-bin) find_pg_bin ;;
    *) usage ;;
esac
