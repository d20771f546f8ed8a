#!/usr/bin/env bash
# Labels your own images with a trained checkpoint (predict.py).
#
#   bash runners/predict.sh CONFIG.ini IMAGES OUTPUT_DIR [--key=value ...]
#
# IMAGES: an image, a folder of images or a quoted glob ('photos/*.jpg').
# OUTPUT_DIR gets <name>.png (class ids), color/<name>.png, overlay/<name>.jpg
# and run.json. Without --checkpoint_path=... the checkpoint is the one
# test.py would test (the best on val). Other arguments are config options
# (--eval_scales=0.5,0.75,1.0 --add_flipped_images, --inference_engine=...).
#
# Environment: PYTHON picks the interpreter (default: .venv-tf2, else .venv).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
[ "$#" -ge 3 ] || die "usage: bash runners/predict.sh CONFIG.ini IMAGES OUTPUT_DIR [--key=value ...]"
CONFIG="$1" IMAGES="$2" OUTPUT_DIR="$3"
shift 3
exec "$PYTHON" "$REPO_ROOT/predict.py" --config_file "$CONFIG" \
  --images "$IMAGES" --output_dir "$OUTPUT_DIR" "$@"
