#!/usr/bin/env bash
# Trains LI-ResNet-50 + LI-ASPP + decoder on PASCAL_VOC2012 as the original's script
# (config/PASCAL_VOC2012/liResnet50_liAspp_dcd.ini, from the ImageNet checkpoint in
# <repo>/../LI-Convs-snapshots/init_models/), with one tower per GPU
# TensorFlow sees, then validates every checkpoint and tests the best one.
# Runs from runners/ (cd runners && bash train_pascalVoc2012.sh) or any folder;
# extra arguments go to every program:
#   bash runners/train_pascalVoc2012.sh [--num_clones=1 --train_batch_size=8 ...]
#   LI_CONFIG=liMnv2_liAspp bash runners/train_pascalVoc2012.sh   # another config
# LI_SNAPSHOTS moves the snapshot folder (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_validate_test PASCAL_VOC2012 "$@"
