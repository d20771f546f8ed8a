# Shared helpers of the runner scripts; sourced, not run.
#
# Every runner works from any working directory: paths are taken relative to
# the repository root. Extra arguments given to a runner are passed on to
# each program (e.g. --dataset_dir=... --snapshot_root=... --num_clones=1).
#
# Environment:
#   PYTHON        interpreter (default: <repo>/.venv-tf2/bin/python, the fast
#                 environment `make setup` builds, else <repo>/.venv/bin/python,
#                 the reference TensorFlow 1.15.5, else python3)
#   LI_CONFIG     config name inside config/<DATASET>/ (default per runner)
#   LI_SNAPSHOTS  folder of the published snapshots
#                 (default: <repo>/../LI-Convs-snapshots)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO_ROOT/.venv-tf2/bin/python" ]; then
    PYTHON="$REPO_ROOT/.venv-tf2/bin/python"
  elif [ -x "$REPO_ROOT/.venv/bin/python" ]; then
    PYTHON="$REPO_ROOT/.venv/bin/python"
  else
    PYTHON=python3
  fi
fi

die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 2
}

# config_file DATASET_FOLDER CONFIG_NAME -> prints the config path or dies.
config_file() {
  local path="$REPO_ROOT/config/$1/$2.ini"
  [ -f "$path" ] || die "config $path not found (set LI_CONFIG to one of: $(ls "$REPO_ROOT/config/$1" 2>/dev/null | sed 's/\.ini$//' | tr '\n' ' '))"
  echo "$path"
}

# check_dataset CONFIG MODE [ARGS...]: the dataset folder of the config (after
# command-line overrides) must exist before a long run starts.
check_dataset() {
  local cfg="$1" mode="$2"
  shift 2
  "$PYTHON" - "$cfg" "$mode" "$@" <<'PY' || exit 2
import os
import sys
sys.path.insert(0, os.environ['LI_REPO_ROOT'])
from li_programs import config
try:
  cfg = config.load_config(sys.argv[1], sys.argv[2], sys.argv[3:])
except config.ConfigError as err:
  sys.exit('%s: error: %s' % (os.environ['LI_RUNNER'], err))
if not os.path.isdir(cfg.dataset_dir):
  sys.exit('%s: error: dataset folder %s not found; build the dataset with '
           'the scripts in dataset_generation/ or pass --dataset_dir=...'
           % (os.environ['LI_RUNNER'], cfg.dataset_dir))
PY
}

# train_validate_test DATASET_FOLDER DEFAULT_CONFIG [ARGS...]
train_validate_test() {
  local folder="$1" name="${LI_CONFIG:-$2}"
  shift 2
  local cfg
  cfg="$(config_file "$folder" "$name")" || exit 2
  export LI_REPO_ROOT="$REPO_ROOT" LI_RUNNER="$(basename "$0")"
  check_dataset "$cfg" train "$@"
  "$PYTHON" "$REPO_ROOT/train.py" --config_file "$cfg" "$@" \
    || die "train.py failed (config $cfg)"
  "$PYTHON" "$REPO_ROOT/validate.py" --config_file "$cfg" "$@" \
    || die "validate.py failed (config $cfg)"
  "$PYTHON" "$REPO_ROOT/test.py" --config_file "$cfg" "$@" \
    || die "test.py failed (config $cfg)"
}

# evaluate_snapshot DATASET_FOLDER SNAPSHOT_DATASET DEFAULT_CONFIG [ARGS...]:
# tests the published model of the config.
evaluate_snapshot() {
  local folder="$1" snapshot_dataset="$2" name="${LI_CONFIG:-$3}"
  shift 3
  local cfg
  cfg="$(config_file "$folder" "$name")" || exit 2
  local snapshots="${LI_SNAPSHOTS:-$REPO_ROOT/../LI-Convs-snapshots}"
  local ckpt="$snapshots/LI_models/$snapshot_dataset/$name/model.ckpt"
  [ -f "$ckpt.index" ] || die "published checkpoint $ckpt not found (no $ckpt.index); download the LI-Convs snapshots to $snapshots or set LI_SNAPSHOTS"
  export LI_REPO_ROOT="$REPO_ROOT" LI_RUNNER="$(basename "$0")"
  check_dataset "$cfg" test "$@"
  "$PYTHON" "$REPO_ROOT/test.py" --config_file "$cfg" \
    --checkpoint_path "$ckpt" "$@" || die "test.py failed (config $cfg)"
}
