#!/usr/bin/env bash
# Prepares CelebAMask-HQ: combined label maps, 512x512 images, split lists.
#
# Usage: preprocess_CelebAMaskHQ.sh [DATASET_ROOT]
#   DATASET_ROOT (or $DATASET_ROOT) defaults to <repo>/../dataset.
# Download CelebAMask-HQ yourself and unpack it so that these exist:
#   DATASET_ROOT/CelebAMask-HQ/CelebA-HQ-img/<k>.jpg
#   DATASET_ROOT/CelebAMask-HQ/CelebAMask-HQ-mask-anno/<k//2000>/<k:05d>_<part>.png
#   DATASET_ROOT/CelebAMask-HQ/CelebA-HQ-to-CelebA-mapping.txt
# Writes CelebAMask-HQ-mask/ (labels), CelebA-HQ-img-512/ (images) and
# ImageSets/{train,val,test,trainval}.txt next to them; then run
# build_CelebAMaskHQ.sh.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
usage_if_help "${1:-}"

ROOT="$(dataset_root "${1:-}")"
WORK="$ROOT/CelebAMask-HQ"
HOWTO="download CelebAMask-HQ and unpack it into $WORK (see the header of $0)"
require_path "$WORK/CelebA-HQ-img" "$HOWTO"
require_path "$WORK/CelebAMask-HQ-mask-anno" "$HOWTO"
require_path "$WORK/CelebA-HQ-to-CelebA-mapping.txt" "$HOWTO"

run_module celebamask_hq combine_masks \
  --image_folder "$WORK/CelebA-HQ-img" \
  --mask_folder "$WORK/CelebAMask-HQ-mask-anno" \
  --output_dir "$WORK/CelebAMask-HQ-mask"
run_module celebamask_hq resize_images \
  --image_folder "$WORK/CelebA-HQ-img" \
  --output_dir "$WORK/CelebA-HQ-img-512"
run_module celebamask_hq make_splits \
  --image_folder "$WORK/CelebA-HQ-img" \
  --mapping_file "$WORK/CelebA-HQ-to-CelebA-mapping.txt" \
  --output_dir "$WORK/ImageSets"
echo "CelebAMask-HQ preprocessed in $WORK"
