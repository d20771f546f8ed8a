#!/usr/bin/env bash
# Builds PASCAL VOC 2012 TFRecords, including the augmented train_aug split.
#
# Usage: build_voc2012_with_aug.sh [DATASET_ROOT]
#   DATASET_ROOT (or $DATASET_ROOT) defaults to <repo>/../dataset.
# Needs DATASET_ROOT/pascal_voc_seg/SegmentationClassAug.zip (the SBD
# augmented labels, a zip holding SegmentationClassAug/<name>.png), which you
# download yourself. VOCtrainval_11-May-2012.tar is downloaded into
# DATASET_ROOT/pascal_voc_seg unless it is already there.
# Result: DATASET_ROOT/pascal_voc_seg/tfrecord/{train,val,trainval,train_aug}-*.tfrecord

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
usage_if_help "${1:-}"

ROOT="$(dataset_root "${1:-}")"
WORK="$ROOT/pascal_voc_seg"
TAR="$WORK/VOCtrainval_11-May-2012.tar"
AUG_ZIP="$WORK/SegmentationClassAug.zip"
VOC="$WORK/VOCdevkit/VOC2012"
URL="http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"
mkdir -p "$WORK"

require_path "$AUG_ZIP" "download the augmented labels SegmentationClassAug.zip (SBD labels in VOC format) and put it at $AUG_ZIP"

download "$URL" "$TAR"
if [ ! -d "$VOC/JPEGImages" ]; then
  echo "extracting $TAR"
  tar -xf "$TAR" -C "$WORK" || die "cannot extract $TAR (corrupt? delete it and run again)"
fi
for sub in JPEGImages SegmentationClass ImageSets/Segmentation/val.txt; do
  require_path "$VOC/$sub" "$TAR should contain VOCdevkit/VOC2012/$sub"
done

if [ ! -d "$VOC/SegmentationClassAug" ]; then
  echo "extracting $AUG_ZIP"
  unzip -q -o "$AUG_ZIP" -x '__MACOSX/*' -d "$VOC" || die "cannot extract $AUG_ZIP"
fi
require_path "$VOC/SegmentationClassAug" "$AUG_ZIP should contain the folder SegmentationClassAug/"

echo "removing the colour map of the ground truth"
run_module remove_gt_colormap \
  --original_gt_folder "$VOC/SegmentationClass" \
  --output_dir "$VOC/SegmentationClassRaw"

run_module make_voc_trainaug_list \
  --aug_label_folder "$VOC/SegmentationClassAug" \
  --val_list "$VOC/ImageSets/Segmentation/val.txt" \
  --output_list "$VOC/ImageSets/SegmentationAug/train_aug.txt"

run_module build_voc2012_data \
  --image_folder "$VOC/JPEGImages" \
  --semantic_segmentation_folder "$VOC/SegmentationClassRaw" \
  --list_folder "$VOC/ImageSets/Segmentation" \
  --image_format jpg --label_format png \
  --output_dir "$WORK/tfrecord"
run_module build_voc2012_data \
  --image_folder "$VOC/JPEGImages" \
  --semantic_segmentation_folder "$VOC/SegmentationClassAug" \
  --list_folder "$VOC/ImageSets/SegmentationAug" \
  --image_format jpg --label_format png \
  --output_dir "$WORK/tfrecord"
echo "PASCAL VOC 2012 TFRecords written to $WORK/tfrecord"
