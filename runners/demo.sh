#!/usr/bin/env bash
# The LI-Convs demo on a CPU, no GPU and no network needed (`make demo`):
#   1. draws the synthetic shapes set and builds its TFRecords,
#   2. trains LI-MobileNetV2 + LI-ASPP from scratch
#      (config/demo/liMnv2_liAspp_shapes.ini),
#   3. re-estimates the batch-norm statistics of every checkpoint from the
#      training images (tools/recalibrate_bn.py: a few hundred steps are too
#      few for DeepLab's moving averages), validates every checkpoint, tests
#      the best one (prediction plots),
#      scores its mIoU near object boundaries, draws its LI weights, labels
#      the val images with predict.py and draws the run (tools/plot_run.py),
#   4. prints mIoU, pixel accuracy, wall time and where every output lies.
#
#   bash runners/demo.sh [--compare] [--key=value ...]
#
# --compare (`make demo-compare`) also trains the baseline MobileNetV2 + ASPP
# (config/demo/mnv2_aspp_shapes.ini) on the same data and prints both side by
# side. It reuses the dataset and LI run of a finished `make demo` in the same
# output folder (with the same settings) instead of training LI again.
# Other arguments go to train.py, validate.py and test.py as config overrides.
#
# Environment:
#   DEMO_OUTPUT   output folder (default <repo>/demo_output)
#   DEMO_FORCE=1  delete an earlier demo run in DEMO_OUTPUT first; without it
#                 the demo refuses to write into a folder holding one
#   DEMO_NUM_TRAIN, DEMO_NUM_VAL, DEMO_SIZE   images drawn and their side
#                 (default 300, 40, 97)
#   DEMO_STEPS, DEMO_CHECKPOINT_STEPS         training steps and steps between
#                 checkpoints (default: the config's)
#   DEMO_CROP     training and evaluation crop side (default: the config's)
#   DEMO_BN_BATCHES  training batches averaged per checkpoint for the
#                 batch-norm statistics (default 20)
#   PYTHON        interpreter (default: as in common.sh, .venv-tf2 else .venv)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

START_SECONDS=$SECONDS
COMPARE=0
EXTRA_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --compare) COMPARE=1 ;;
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) EXTRA_ARGS+=("$arg") ;;
  esac
done

OUT="${DEMO_OUTPUT:-$REPO_ROOT/demo_output}"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
NUM_TRAIN="${DEMO_NUM_TRAIN:-300}"
NUM_VAL="${DEMO_NUM_VAL:-40}"
BN_BATCHES="${DEMO_BN_BATCHES:-20}"
SIZE="${DEMO_SIZE:-97}"
LI_CFG="$REPO_ROOT/config/demo/liMnv2_liAspp_shapes.ini"
BASE_CFG="$REPO_ROOT/config/demo/mnv2_aspp_shapes.ini"
LI_LABEL="LI-MNV2 + LI-ASPP"
BASE_LABEL="MNV2 + ASPP"
MARKER="$OUT/.li_convs_demo"

for name in NUM_TRAIN NUM_VAL SIZE; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || die "DEMO_$name must be a whole number, got '${!name}'"
done
for name in DEMO_STEPS DEMO_CHECKPOINT_STEPS DEMO_CROP DEMO_BN_BATCHES; do
  if [ -n "${!name:-}" ] && ! [[ "${!name}" =~ ^[1-9][0-9]*$ ]]; then
    die "$name must be a positive whole number, got '${!name}'"
  fi
done
[ "$NUM_TRAIN" -ge 1 ] && [ "$NUM_VAL" -ge 1 ] \
  || die "DEMO_NUM_TRAIN and DEMO_NUM_VAL must be >= 1"
[ "$SIZE" -ge 17 ] || die "DEMO_SIZE must be >= 17 pixels, got $SIZE"

PROGRAM_ARGS=(--dataset_dir="$OUT/dataset/tfrecord"
              --snapshot_root="$OUT/snapshots")
[ -n "${DEMO_STEPS:-}" ] && PROGRAM_ARGS+=(--training_number_of_steps="$DEMO_STEPS")
[ -n "${DEMO_CHECKPOINT_STEPS:-}" ] && PROGRAM_ARGS+=(--save_checkpoint_steps="$DEMO_CHECKPOINT_STEPS")
if [ -n "${DEMO_CROP:-}" ]; then
  PROGRAM_ARGS+=(--train_crop_size="$DEMO_CROP,$DEMO_CROP"
                 --eval_crop_size="$DEMO_CROP,$DEMO_CROP")
fi
PROGRAM_ARGS+=(${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"})
# Everything that decides the LI run's results; a reused run must match it.
SETTINGS="train=$NUM_TRAIN val=$NUM_VAL size=$SIZE bn_batches=$BN_BATCHES steps=${DEMO_STEPS:-config} checkpoints=${DEMO_CHECKPOINT_STEPS:-config} crop=${DEMO_CROP:-config} args=${EXTRA_ARGS[*]+${EXTRA_ARGS[*]}} config=$(cksum < "$LI_CFG" | cut -d' ' -f1)"

export LI_REPO_ROOT="$REPO_ROOT" LI_RUNNER="demo.sh" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" PYTHONUNBUFFERED=1
STAGE=0
STAGES=$((COMPARE ? 12 : 8))
stage() {
  STAGE=$((STAGE + 1))
  printf '\n==> [%d/%d] %s (%s elapsed)\n' "$STAGE" "$STAGES" "$1" \
    "$(date -u -d "@$((SECONDS - START_SECONDS))" +%M:%S)"
}

# ---------------------------------------------------------------------------
# The output folder: never mix two runs.
REUSE_LI=0
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  if [ ! -f "$MARKER" ]; then
    die "$OUT exists and is not a demo output folder; set DEMO_OUTPUT to a new or empty folder"
  elif [ "${DEMO_FORCE:-0}" = 1 ]; then
    echo "DEMO_FORCE=1: deleting the earlier demo run in $OUT"
    rm -rf "$OUT"
  elif [ "$COMPARE" = 1 ] && grep -qx "li_done" "$MARKER" \
      && grep -qxF "$SETTINGS" "$MARKER" && ! grep -qx "baseline_started" "$MARKER"; then
    REUSE_LI=1
  else
    die "$OUT holds an earlier demo run; re-run with DEMO_FORCE=1 to replace it (e.g. DEMO_FORCE=1 make demo) or set DEMO_OUTPUT to another folder"
  fi
fi
mkdir -p "$OUT/logs"
[ "$REUSE_LI" = 1 ] || printf '%s\n' "$SETTINGS" > "$MARKER"

# cfg_value CONFIG KEY: the option's value for train.py after the overrides.
cfg_value() {
  "$PYTHON" - "$1" "$2" "${PROGRAM_ARGS[@]}" <<'PY'
import os, sys
sys.path.insert(0, os.environ['LI_REPO_ROOT'])
from li_programs.config import config
try:
  cfg = config.load_config(sys.argv[1], 'train', sys.argv[3:])
except config.ConfigError as err:
  sys.exit('demo.sh: error: %s' % err)
print(getattr(cfg, sys.argv[2]))
PY
}

# best_checkpoint CONFIG_NAME: the best checkpoint recorded by validate.py.
best_checkpoint() {
  "$PYTHON" - "$OUT/snapshots" "$1" <<'PY'
import os, sys
sys.path.insert(0, os.environ['LI_REPO_ROOT'])
from li_programs.report import result_files
from li_programs.runtime import run_folders
dirs = run_folders.output_dirs(sys.argv[1], sys.argv[2])
print(result_files.best_existing_val_checkpoint(dirs.val)[0])
PY
}

# quiet_tf: drops TensorFlow's deprecation warnings from a stream. A warning
# is a "WARNING:tensorflow" line, then a blank line or "Instructions for
# updating:" and one line of advice (two when the first ends with ':').
quiet_tf() {
  awk '/^WARNING:tensorflow/ { skip = 1; next }
       /^W[0-9]+ [0-9:.]+/ { next }
       skip == 1 && /^$/ { skip = 0; next }
       skip == 1 && /^Instructions for updating:/ { skip = 2; next }
       skip == 2 { skip = ($0 ~ /: *$/) ? 3 : 0; next }
       skip == 3 { skip = 0; next }
       { skip = 0; print; fflush() }'
}

# run_logged LOG CMD...: runs CMD, keeps its whole output in LOG and shows it
# without TensorFlow's deprecation chatter; dies naming LOG if CMD fails.
run_logged() {
  local log="$1"
  shift
  if ! "$@" 2>&1 | tee "$log" | quiet_tf; then
    tail -n 3 "$log" >&2
    die "$(basename "$2") failed (log $log)"
  fi
}

# train_and_evaluate LABEL CONFIG: train (with ETA), validate, test, boundary.
train_and_evaluate() {
  local label="$1" cfg="$2" name steps
  name="$(basename "$cfg" .ini)"
  steps="$(cfg_value "$cfg" training_number_of_steps)" || exit 2
  stage "training $label from scratch: $steps steps ($cfg)"
  "$PYTHON" "$REPO_ROOT/train.py" --config_file "$cfg" "${PROGRAM_ARGS[@]}" 2>"$OUT/logs/train_$name.err" \
    | tee "$OUT/logs/train_$name.log" \
    || { tail -n 5 "$OUT/logs/train_$name.err" >&2; die "train.py failed (config $cfg; log $OUT/logs/train_$name.err)"; }
  stage "re-estimating the batch-norm statistics of every checkpoint"
  run_logged "$OUT/logs/recalibrate_bn_$name.log" \
    "$PYTHON" "$REPO_ROOT/tools/recalibrate_bn.py" --config_file "$cfg" \
    --num_batches "$BN_BATCHES" "${PROGRAM_ARGS[@]}"
  stage "validating every checkpoint of $label, then testing the best one"
  run_logged "$OUT/logs/validate_$name.log" \
    "$PYTHON" "$REPO_ROOT/validate.py" --config_file "$cfg" "${PROGRAM_ARGS[@]}"
  run_logged "$OUT/logs/test_$name.log" \
    "$PYTHON" "$REPO_ROOT/test.py" --config_file "$cfg" "${PROGRAM_ARGS[@]}"
  stage "scoring $label within 5 px of object boundaries"
  run_logged "$OUT/logs/boundary_$name.log" \
    "$PYTHON" "$REPO_ROOT/tools/boundary_miou.py" --config_file "$cfg" \
    --boundary_width 5 "${PROGRAM_ARGS[@]}"
}

if [ "$REUSE_LI" = 1 ]; then
  STAGE=7
  echo "Reusing the dataset and the $LI_LABEL run of the earlier \`make demo\` in $OUT (same settings)"
else
  stage "drawing the synthetic shapes set: $NUM_TRAIN train + $NUM_VAL val images of ${SIZE}x$SIZE"
  "$PYTHON" "$REPO_ROOT/dataset_generation/make_synthetic_shapes.py" \
    --output_dir "$OUT/dataset/raw" --num_train "$NUM_TRAIN" \
    --num_val "$NUM_VAL" --height "$SIZE" --width "$SIZE" --seed 0 \
    || die "make_synthetic_shapes.py failed"
  stage "building TFRecords"
  "$PYTHON" "$REPO_ROOT/dataset_generation/build_voc2012_data.py" \
    --image_folder "$OUT/dataset/raw/JPEGImages" \
    --semantic_segmentation_folder "$OUT/dataset/raw/SegmentationClass" \
    --list_folder "$OUT/dataset/raw/ImageSets/Segmentation" \
    --image_format jpg --label_format png \
    --output_dir "$OUT/dataset/tfrecord" --num_shards 2 \
    || die "build_voc2012_data.py failed"
  train_and_evaluate "$LI_LABEL" "$LI_CFG"
  stage "drawing the LI kernels of the best checkpoint, its predictions of the val images and the run"
  BEST="$(best_checkpoint liMnv2_liAspp_shapes)" || die "no best checkpoint recorded"
  "$PYTHON" "$REPO_ROOT/tools/visualize_li.py" --checkpoint_path "$BEST" \
    --config_file "$LI_CFG" --output_dir "$OUT/li_figures" \
    > "$OUT/logs/visualize_li.log" 2>&1 \
    || { tail -n 5 "$OUT/logs/visualize_li.log" >&2; die "tools/visualize_li.py failed"; }
  echo "LI figures in $OUT/li_figures"
  run_logged "$OUT/logs/predict.log" \
    "$PYTHON" "$REPO_ROOT/predict.py" --config_file "$LI_CFG" "${PROGRAM_ARGS[@]}" \
    --checkpoint_path "$BEST" --images "$OUT/dataset/raw/JPEGImages/val_*.jpg" \
    --output_dir "$OUT/predictions"
  run_logged "$OUT/logs/plot_run.log" \
    "$PYTHON" "$REPO_ROOT/tools/plot_run.py" "$OUT/snapshots/liMnv2_liAspp_shapes"
  echo "li_done" >> "$MARKER"
fi

RUNS=(--run "$LI_LABEL=liMnv2_liAspp_shapes")
[ "$REUSE_LI" = 1 ] && RUNS+=(--reused "$LI_LABEL")
if [ "$COMPARE" = 1 ]; then
  echo "baseline_started" >> "$MARKER"
  train_and_evaluate "$BASE_LABEL" "$BASE_CFG"
  echo "baseline_done" >> "$MARKER"
  RUNS+=(--run "$BASE_LABEL=mnv2_aspp_shapes")
fi

stage "summary"
"$PYTHON" "$REPO_ROOT/tools/demo_report.py" --output_dir "$OUT" "${RUNS[@]}" \
  --wall_seconds "$((SECONDS - START_SECONDS))" \
  || die "tools/demo_report.py failed"
