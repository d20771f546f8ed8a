#!/usr/bin/env bash
# Trains LI-ResNet-50 + LI-ASPP + decoder on CelebAMask_HQ as the original's script
# (config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini, from the ImageNet checkpoint in
# <repo>/../LI-Convs-snapshots/init_models/), with one tower per GPU
# TensorFlow sees, then validates every checkpoint and tests the best one.
# Runs from runners/ (cd runners && bash train_celebaMask.sh) or any folder;
# extra arguments go to every program:
#   bash runners/train_celebaMask.sh [--num_clones=1 --train_batch_size=8 ...]
#   LI_CONFIG=liMnv2_liAspp bash runners/train_celebaMask.sh   # another config
# LI_SNAPSHOTS moves the snapshot folder (see common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
train_validate_test CelebAMask_HQ "$@"
