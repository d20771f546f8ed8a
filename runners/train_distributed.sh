#!/usr/bin/env bash
# Tries out distributed training on one machine: starts NUM_PS parameter
# servers and NUM_WORKERS workers of train.py (worker 0 is the chief), shows
# the chief's output, and stops every task when the chief is done.
#
#   bash runners/train_distributed.sh CONFIG [ARGS...]
#   NUM_WORKERS=3 bash runners/train_distributed.sh \
#       config/ADE20K/liMnv2_liAspp.ini --sync_replicas --train_batch_size=4
#
# CONFIG is an .ini file (relative to the working directory or the
# repository). Extra arguments go to every task (train_batch_size is per
# worker). Environment:
#   NUM_WORKERS   workers (default 2)
#   NUM_PS        parameter servers (default 1)
#   HOST          address the tasks listen on (default localhost)
#   BASE_PORT     ps i uses BASE_PORT+i, worker j BASE_PORT+NUM_PS+j
#                 (default: free ports picked now)
#   LOG_DIR       where ps_<i>.log and worker_<j>.log go
#                 (default: <snapshot_root>/<config_name>/distributed_logs)
#   WORKER_GPUS   CUDA_VISIBLE_DEVICES of each worker, ';'-separated, e.g.
#                 "0;1" (default: every worker sees every GPU)
#   PYTHON        interpreter (default: as in common.sh, .venv-tf2 else .venv)
# Ctrl-C or SIGTERM stops the workers (the chief saves a checkpoint first),
# then the parameter servers. Exit status: the chief's.
# For several machines start train.py yourself on each (see docs/distributed.md).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ $# -ge 1 ] || die "usage: $(basename "$0") CONFIG.ini [ARGS...]"
CFG="$1"
shift
if [ -f "$CFG" ]; then
  CFG="$(cd "$(dirname "$CFG")" && pwd)/$(basename "$CFG")"
elif [ -f "$REPO_ROOT/$CFG" ]; then
  CFG="$REPO_ROOT/$CFG"
else
  die "config file $CFG not found (looked in $PWD and $REPO_ROOT)"
fi
NUM_WORKERS="${NUM_WORKERS:-2}"
NUM_PS="${NUM_PS:-1}"
HOST="${HOST:-localhost}"
[[ "$NUM_WORKERS" =~ ^[1-9][0-9]*$ ]] \
  || die "NUM_WORKERS must be a positive integer, got '$NUM_WORKERS'"
[[ "$NUM_PS" =~ ^[1-9][0-9]*$ ]] \
  || die "NUM_PS must be a positive integer, got '$NUM_PS'"
TOTAL=$((NUM_PS + NUM_WORKERS))
if [ -n "${BASE_PORT:-}" ]; then
  [[ "$BASE_PORT" =~ ^[1-9][0-9]*$ ]] && [ $((BASE_PORT + TOTAL)) -le 65536 ] \
    || die "BASE_PORT must be a port with $TOTAL ports from it, got" \
           "'$BASE_PORT'"
fi
for arg in "$@"; do
  case "$arg" in
    --ps_hosts*|--worker_hosts*|--job_name*|--task|--task=*|--master*)
      die "${arg%%=*} is set by this script for each task; remove it" ;;
  esac
done
if [ -n "${TF_CONFIG:-}" ]; then
  echo "$(basename "$0"): note: ignoring TF_CONFIG; the cluster is made" \
       "here" >&2
  unset TF_CONFIG
fi

export LI_REPO_ROOT="$REPO_ROOT" LI_RUNNER="$(basename "$0")"
check_dataset "$CFG" train "$@"
if [ -z "${LOG_DIR:-}" ]; then
  LOG_DIR="$("$PYTHON" - "$CFG" "$@" <<'PY'
import os
import sys
sys.path.insert(0, os.environ['LI_REPO_ROOT'])
from li_programs.config import config
cfg = config.load_config(sys.argv[1], 'train', sys.argv[2:])
print(os.path.join(cfg.snapshot_root, cfg.config_name, 'distributed_logs'))
PY
)" || die "cannot read $CFG"
fi
mkdir -p "$LOG_DIR" || die "cannot create LOG_DIR $LOG_DIR"

# Ports: consecutive from BASE_PORT, or free ones picked by the OS.
if [ -n "${BASE_PORT:-}" ]; then
  PORTS=($(seq "$BASE_PORT" $((BASE_PORT + TOTAL - 1))))
else
  PORTS=($("$PYTHON" - "$HOST" "$TOTAL" <<'PY'
import socket
import sys
socks = [socket.socket() for _ in range(int(sys.argv[2]))]
for s in socks:
  s.bind((sys.argv[1], 0))
print(' '.join(str(s.getsockname()[1]) for s in socks))
PY
  )) || die "cannot pick free ports on $HOST"
fi
join() { local IFS=,; echo "$*"; }
PS_LIST=()
for ((i = 0; i < NUM_PS; i++)); do PS_LIST+=("$HOST:${PORTS[$i]}"); done
WORKER_LIST=()
for ((i = 0; i < NUM_WORKERS; i++)); do
  WORKER_LIST+=("$HOST:${PORTS[$((NUM_PS + i))]}")
done
CLUSTER=(--ps_hosts="$(join "${PS_LIST[@]}")"
         --worker_hosts="$(join "${WORKER_LIST[@]}")")
IFS=';' read -r -a GPUS <<< "${WORKER_GPUS:-}"

PS_PIDS=()
WORKER_PIDS=()  # workers 1..N-1, in that order
CHIEF=
all_pids() { echo ${CHIEF:-} ${WORKER_PIDS[@]+"${WORKER_PIDS[@]}"} "$@"; }
running() { kill -0 "$1" 2>/dev/null; }
wait_gone() {  # wait_gone PID SECONDS: true once PID has exited
  local t
  for ((t = 0; t < $2 * 2; t++)); do running "$1" || return 0; sleep 0.5; done
  ! running "$1"
}
stop_workers() {
  echo "$(basename "$0"): stopping the workers" >&2
  kill -TERM $(all_pids) 2>/dev/null
}
cleanup() {
  local pid
  kill -TERM $(all_pids "${PS_PIDS[@]}") 2>/dev/null
  for pid in $(all_pids "${PS_PIDS[@]}"); do
    wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
  done
}
trap stop_workers INT TERM
trap cleanup EXIT

task() {  # task JOB INDEX GPUS [ARGS...]: one train.py task, in the background
  local job="$1" index="$2" gpus="$3"
  local log="$LOG_DIR/${job}_${index}.log"
  shift 3
  # Create the log now, not in the background subshell: `tail -f` below
  # must find the chief's log even before its process has started.
  : > "$log"
  (
    if [ -n "$gpus" ]; then export CUDA_VISIBLE_DEVICES="$gpus"; fi
    exec "$PYTHON" -u "$REPO_ROOT/train.py" --config_file "$CFG" "$@" \
      "${CLUSTER[@]}" --job_name="$job" --task="$index" >> "$log" 2>&1
  ) &
}
for ((i = 0; i < NUM_PS; i++)); do
  task ps "$i" "" "$@"
  PS_PIDS+=($!)
done
# Workers 1..N-1 first: they wait for the chief, which then starts at once.
for ((i = NUM_WORKERS - 1; i >= 0; i--)); do
  task worker "$i" "${GPUS[$i]:-}" "$@"
  if [ "$i" -eq 0 ]; then
    CHIEF=$!
  else
    WORKER_PIDS=($! ${WORKER_PIDS[@]+"${WORKER_PIDS[@]}"})
  fi
done
echo "cluster: ps ${PS_LIST[*]}; workers ${WORKER_LIST[*]} (the first is" \
     "the chief); logs in $LOG_DIR"
tail -n +1 -f --pid="$CHIEF" "$LOG_DIR/worker_0.log" &
TAIL=$!

while :; do
  wait "$CHIEF"
  STATUS=$?
  running "$CHIEF" || break  # else a signal interrupted the wait
done
wait "$TAIL" 2>/dev/null

# The other workers stop by themselves once they see the final step.
for ((i = 1; i < NUM_WORKERS; i++)); do
  pid="${WORKER_PIDS[$((i - 1))]}"
  if ! wait_gone "$pid" 60; then
    echo "$(basename "$0"): worker $i still running 60 s after the chief" \
         "ended; stopping it" >&2
    continue
  fi
  wait "$pid"
  rc=$?
  [ "$rc" -eq 0 ] || echo "$(basename "$0"): worker $i exited with status" \
                          "$rc (see $LOG_DIR/worker_$i.log)" >&2
done
CHIEF=
WORKER_PIDS=()
exit "$STATUS"
