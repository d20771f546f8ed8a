#!/usr/bin/env bash
# Tests a published LI-Convs snapshot on CelebAMask_HQ:
#   <repo>/../LI-Convs-snapshots/LI_models/celeba_mask/<config>/model.ckpt
# Runs from any folder; extra arguments go to test.py:
#   bash runners/evaluate_celebaMask.sh [--eval_scales=0.5,0.75,1.0 ...]
#   LI_CONFIG=liResnet50_liAspp_dcd bash runners/evaluate_celebaMask.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
evaluate_snapshot CelebAMask_HQ celeba_mask liMnv2_liAspp "$@"
