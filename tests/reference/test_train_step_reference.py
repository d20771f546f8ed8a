"""One training step of train.py matches the original LI-Convs code.

``../shared/reference/train_step/train_step_check.py`` runs train.py for one
SGD step from a given checkpoint on fixed images (random scale, crop, flip
and dropout switched off) and compares every variable's update with the
original's: case_A one tower of 4 images, case_B two towers of 2. Its limits
come from two runs of the original (moving statistics 1e-2 worst tensor,
trainable weights 0.2 global).
"""
import os
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT, SHARED_DIR

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

TRAIN_STEP_DIR = os.path.join(SHARED_DIR, 'reference', 'train_step')
CHECKER = os.path.join(TRAIN_STEP_DIR, 'train_step_check.py')


@pytest.mark.needs_shared
@pytest.mark.parametrize('case', ['case_A', 'case_B'])
def test_one_training_step_matches_the_original(case, tmp_path):
  # The checker keeps its records and snapshots in a temporary folder:
  # pytest's, so they are cleaned up with the others.
  env = dict(os.environ, TMPDIR=str(tmp_path))
  result = subprocess.run(
      [sys.executable, CHECKER, os.path.join(TRAIN_STEP_DIR, case)],
      cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, universal_newlines=True, timeout=1800)
  lines = result.stdout.strip().splitlines()
  assert result.returncode == 0 and lines and lines[-1] == 'PASS', \
      result.stdout[-3000:]
