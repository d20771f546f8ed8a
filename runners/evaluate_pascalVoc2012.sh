#!/usr/bin/env bash
# Tests a published LI-Convs snapshot on PASCAL_VOC2012:
#   <repo>/../LI-Convs-snapshots/LI_models/pascal_voc2012/<config>/model.ckpt
# Runs from any folder; extra arguments go to test.py:
#   bash runners/evaluate_pascalVoc2012.sh [--eval_scales=0.5,0.75,1.0 ...]
#   LI_CONFIG=liResnet50_liAspp_dcd bash runners/evaluate_pascalVoc2012.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
evaluate_snapshot PASCAL_VOC2012 pascal_voc2012 liMnv2_liAspp "$@"
