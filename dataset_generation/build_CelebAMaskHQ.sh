#!/usr/bin/env bash
# Builds CelebAMask-HQ TFRecords from the output of preprocess_CelebAMaskHQ.sh.
#
# Usage: build_CelebAMaskHQ.sh [DATASET_ROOT]
#   DATASET_ROOT (or $DATASET_ROOT) defaults to <repo>/../dataset.
# Result: DATASET_ROOT/CelebAMask-HQ/tfrecord/{train,val,test,trainval}-*.tfrecord

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
usage_if_help "${1:-}"

ROOT="$(dataset_root "${1:-}")"
WORK="$ROOT/CelebAMask-HQ"
HOWTO="run dataset_generation/preprocess_CelebAMaskHQ.sh $ROOT first"
require_path "$WORK/CelebA-HQ-img-512" "$HOWTO"
require_path "$WORK/CelebAMask-HQ-mask" "$HOWTO"
require_path "$WORK/ImageSets" "$HOWTO"

run_module build_voc2012_data \
  --image_folder "$WORK/CelebA-HQ-img-512" \
  --semantic_segmentation_folder "$WORK/CelebAMask-HQ-mask" \
  --list_folder "$WORK/ImageSets" \
  --image_format png --label_format png \
  --output_dir "$WORK/tfrecord"
echo "CelebAMask-HQ TFRecords written to $WORK/tfrecord"
