#!/usr/bin/env bash
# Tests the published LI-Convs models on ADE20K, as the original's script:
# LI-MobileNetV2 + LI-ASPP, then LI-ResNet-50 + LI-ASPP + decoder, from
#   <repo>/../LI-Convs-snapshots/LI_models/ade20k/{LI-MNV2_LI-ASPP,LI-ResNet50_LI-ASPP_Decoder}/model.ckpt
# with config/ADE20K/{liMnv2_liAspp,liResnet50_liAspp_dcd}.ini; results in
#   <repo>/../LI-Convs-snapshots/ade20k/<config>/test/
# Runs from runners/ (cd runners && bash evaluate_ade20k.sh) or any folder;
# extra arguments go to test.py:
#   bash runners/evaluate_ade20k.sh [--eval_scales=0.5,0.75,1.0 ...]
#   LI_CONFIG=liResnet50_liAspp_dcd bash runners/evaluate_ade20k.sh   # one model
# LI_SNAPSHOTS moves the snapshot folder (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
evaluate_published ADE20K "$@"
