#!/usr/bin/env bash
# Tests a published LI-Convs snapshot on ADE20K:
#   <repo>/../LI-Convs-snapshots/LI_models/ade20k/<config>/model.ckpt
# Runs from any folder; extra arguments go to test.py:
#   bash runners/evaluate_ade20k.sh [--eval_scales=0.5,0.75,1.0 ...]
#   LI_CONFIG=liResnet50_liAspp_dcd bash runners/evaluate_ade20k.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
evaluate_snapshot ADE20K ade20k liMnv2_liAspp "$@"
