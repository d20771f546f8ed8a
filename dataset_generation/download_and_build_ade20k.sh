#!/usr/bin/env bash
# Downloads ADE20K (SceneParsing ADEChallengeData2016) and builds TFRecords.
#
# Usage: download_and_build_ade20k.sh [DATASET_ROOT]
#   DATASET_ROOT (or $DATASET_ROOT) defaults to <repo>/../dataset.
# Result: DATASET_ROOT/ADE20K/tfrecord/{train,val}-0000i-of-00004.tfrecord
# The download is skipped when DATASET_ROOT/ADE20K/ADEChallengeData2016.zip
# is already there, and the extraction when the folder exists.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
usage_if_help "${1:-}"

ROOT="$(dataset_root "${1:-}")"
WORK="$ROOT/ADE20K"
ARCHIVE="$WORK/ADEChallengeData2016.zip"
DATA="$WORK/ADEChallengeData2016"
URL="http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip"
mkdir -p "$WORK"

download "$URL" "$ARCHIVE"
if [ ! -d "$DATA" ]; then
  echo "extracting $ARCHIVE"
  unzip -q -o "$ARCHIVE" -d "$WORK" || die "cannot extract $ARCHIVE (corrupt? delete it and run again)"
fi
for sub in images/training annotations/training images/validation annotations/validation; do
  require_path "$DATA/$sub" "$ARCHIVE should contain ADEChallengeData2016/$sub"
done

run_module build_ade20k_data \
  --train_image_folder "$DATA/images/training" \
  --train_image_label_folder "$DATA/annotations/training" \
  --val_image_folder "$DATA/images/validation" \
  --val_image_label_folder "$DATA/annotations/validation" \
  --output_dir "$WORK/tfrecord"
echo "ADE20K TFRecords written to $WORK/tfrecord"
