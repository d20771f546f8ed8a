# Shared helpers of the runner scripts; sourced, not run.
#
# The runners do what the original's did, from runners/ (the original's
# way: `cd runners && bash evaluate_ade20k.sh`) or from any other folder.
# Extra arguments given to a runner are passed on to each program
# (e.g. --dataset_dir=... --eval_scales=0.75,1.0,1.25 --num_clones=1).
#
# Environment:
#   PYTHON        interpreter (default: <repo>/.venv-tf2/bin/python, the fast
#                 environment `make setup` builds, else <repo>/.venv/bin/python,
#                 the reference TensorFlow 1.15.5, else python3)
#   LI_CONFIG     config name inside config/<DATASET>/: the one model to
#                 evaluate or train (default: evaluate both published
#                 models, train liResnet50_liAspp_dcd, as the original)
#   LI_SNAPSHOTS  folder of the published snapshots (default:
#                 <repo>/../LI-Convs-snapshots); results then go to
#                 $LI_SNAPSHOTS/<dataset>/<config>/ and training starts from
#                 $LI_SNAPSHOTS/init_models/

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEFAULT_SNAPSHOTS="$(dirname "$REPO_ROOT")/LI-Convs-snapshots"

# The published models, in the order the original's scripts test them:
# config name (config/<DATASET>/<name>.ini) and its folder in the snapshots
# (LI-Convs-snapshots/LI_models/<dataset>/<folder>/model.ckpt).
PUBLISHED_MODELS=(
  "liMnv2_liAspp LI-MNV2_LI-ASPP"
  "liResnet50_liAspp_dcd LI-ResNet50_LI-ASPP_Decoder"
)
# The config the original's train_*.sh scripts train.
TRAINED_CONFIG=liResnet50_liAspp_dcd
# Config folder (config/<DATASET>/) and dataset folder of the snapshots.
SNAPSHOT_DATASETS=(
  "ADE20K ade20k"
  "PASCAL_VOC2012 pascal_voc2012"
  "CelebAMask_HQ celeba_mask"
)

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

note() {
  echo "$(basename "$0"): note: $*" >&2
}

# table_lookup KEY ROW...: the second word of the row whose first word is KEY.
table_lookup() {
  local key="$1" row
  shift
  for row in "$@"; do
    if [ "${row%% *}" = "$key" ]; then
      echo "${row#* }"
      return 0
    fi
  done
  return 1
}

# config_file DATASET_FOLDER CONFIG_NAME -> prints the config path or dies.
config_file() {
  local path="$REPO_ROOT/config/$1/$2.ini"
  [ -f "$path" ] || die "config $path not found (set LI_CONFIG to one of: $(ls "$REPO_ROOT/config/$1" 2>/dev/null | sed 's/\.ini$//' | tr '\n' ' '))"
  echo "$path"
}

# runner_checks ARGS...: li_programs/config/runner_checks.py; exits on its errors.
runner_checks() {
  LI_REPO_ROOT="$REPO_ROOT" LI_RUNNER="$(basename "$0")" "$PYTHON" - "$@" <<'PY' || exit 2
import os
import sys
sys.path.insert(0, os.environ['LI_REPO_ROOT'])
from li_programs.config import runner_checks
sys.exit(runner_checks.main(sys.argv[1:]))
PY
}

# check_dataset CONFIG MODE [ARGS...]: the dataset folder of the config (after
# command-line overrides) must exist before a long run starts.
check_dataset() {
  runner_checks dataset "$@"
}

# snapshot_dataset DATASET_FOLDER: the dataset's folder in the snapshots.
snapshot_dataset() {
  table_lookup "$1" "${SNAPSHOT_DATASETS[@]}" \
    || die "no snapshot folder known for config/$1"
}

# train_validate_test DATASET_FOLDER [ARGS...]: trains LI_CONFIG (default
# the original's choice, TRAINED_CONFIG) with one tower per GPU, then
# validates every checkpoint and tests the best one on val.
train_validate_test() {
  local folder="$1" name="${LI_CONFIG:-$TRAINED_CONFIG}"
  shift
  local cfg dataset plan line clones="" gpus="" args=()
  cfg="$(config_file "$folder" "$name")" || exit 2
  dataset="$(snapshot_dataset "$folder")" || exit 2
  # LI_SNAPSHOTS moves the outputs beside those snapshots, as the default
  # snapshot_root of the shipped configs lies beside the default snapshots.
  [ -n "${LI_SNAPSHOTS:-}" ] && args+=(--snapshot_root="$LI_SNAPSHOTS/$dataset")
  args+=("$@")
  plan="$(runner_checks ${LI_SNAPSHOTS:+--snapshots "$LI_SNAPSHOTS"} \
           train "$cfg" ${args[@]+"${args[@]}"})" || exit 2
  while IFS= read -r line; do
    case "$line" in
      NUM_CLONES=*) clones="${line#NUM_CLONES=}" ;;
      GPUS=*) gpus="${line#GPUS=}" ;;
      INITIAL_CHECKPOINT=*)
        args=(--tf_initial_checkpoint="${line#INITIAL_CHECKPOINT=}"
              ${args[@]+"${args[@]}"}) ;;
    esac
  done <<< "$plan"
  if [ -n "$clones" ]; then
    note "num_clones=$clones: one tower per GPU TensorFlow sees ($gpus GPUs), at least one, as many as split train_batch_size; the original's script hard-coded 2; --num_clones=N overrides"
    args=(--num_clones="$clones" ${args[@]+"${args[@]}"})
  fi
  echo "==> train.py, validate.py, test.py: $cfg"
  local program
  for program in train.py validate.py test.py; do
    "$PYTHON" "$REPO_ROOT/$program" --config_file "$cfg" \
      ${args[@]+"${args[@]}"} || die "$program failed (config $cfg)"
  done
}

# published_checkpoint SNAPSHOTS DATASET CONFIG_NAME: prints the published
# model.ckpt of the config, or dies naming every path tried: the snapshot
# folder of the published zip, then one named after the config.
published_checkpoint() {
  local snapshots="$1" dataset="$2" name="$3" folder tried=() path
  if folder="$(table_lookup "$name" "${PUBLISHED_MODELS[@]}")"; then
    tried+=("$snapshots/LI_models/$dataset/$folder/model.ckpt")
  fi
  tried+=("$snapshots/LI_models/$dataset/$name/model.ckpt")
  local listed=""
  for path in "${tried[@]}"; do
    if [ -f "$path.index" ]; then
      echo "$path"
      return 0
    fi
    listed="${listed:+$listed, }$path.index"
  done
  die "published checkpoint of $name not found (tried $listed); download the LI-Convs snapshots (LI_models/) to $snapshots or set LI_SNAPSHOTS"
}

# evaluate_published DATASET_FOLDER [ARGS...]: tests the published models
# of the dataset (LI_CONFIG: only that one), in the original's order.
evaluate_published() {
  local folder="$1"
  shift
  local dataset snapshots="${LI_SNAPSHOTS:-$DEFAULT_SNAPSHOTS}" names=() row
  local configs=() checkpoints=() i args=()
  dataset="$(snapshot_dataset "$folder")" || exit 2
  if [ -n "${LI_CONFIG:-}" ]; then
    names=("$LI_CONFIG")
  else
    for row in "${PUBLISHED_MODELS[@]}"; do names+=("${row%% *}"); done
  fi
  # The results go beside the snapshots, as the original's (the shipped
  # configs' snapshot_root is <default snapshots>/<dataset>).
  [ -n "${LI_SNAPSHOTS:-}" ] && args+=(--snapshot_root="$LI_SNAPSHOTS/$dataset")
  args+=("$@")
  # Every checkpoint and dataset first: no model is tested when one is missing.
  local cfg ckpt
  for i in "${!names[@]}"; do
    cfg="$(config_file "$folder" "${names[$i]}")" || exit 2
    ckpt="$(published_checkpoint "$snapshots" "$dataset" "${names[$i]}")" \
      || exit 2
    check_dataset "$cfg" test ${args[@]+"${args[@]}"}
    configs+=("$cfg")
    checkpoints+=("$ckpt")
  done
  for i in "${!names[@]}"; do
    echo "==> test.py: ${configs[$i]} on ${checkpoints[$i]}"
    "$PYTHON" "$REPO_ROOT/test.py" --config_file "${configs[$i]}" \
      --checkpoint_path "${checkpoints[$i]}" ${args[@]+"${args[@]}"} \
      || die "test.py failed (config ${configs[$i]})"
  done
}
