#!/usr/bin/env bash
# Trains, validates (all checkpoints) and tests (best on val) an LI-Convs
# model on PASCAL_VOC2012. Runs from any folder; extra arguments go to every program:
#   bash runners/train_pascalVoc2012.sh [--num_clones=1 --train_batch_size=8 ...]
#   LI_CONFIG=liResnet50_liAspp_dcd bash runners/train_pascalVoc2012.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_validate_test PASCAL_VOC2012 liMnv2_liAspp "$@"
