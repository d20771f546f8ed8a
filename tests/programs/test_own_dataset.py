"""docs/own_dataset.md's walk-through, run as written: a dataset the code
does not know, described only by its config, trains, validates, tests and
predicts from build_folder_dataset.py's records."""
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT
from libs.datasets import data_generator

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

DOC = os.path.join(REPO_ROOT, 'docs', 'own_dataset.md')


def _walk_through():
  with open(DOC) as f:
    blocks = re.findall(r'```bash\n(.*?)```', f.read(), re.S)
  assert len(blocks) == 1, 'the walk-through is the one bash block'
  return blocks[0]


def test_walk_through_runs_as_written(tmp_path):
  assert 'my_shapes' not in data_generator.dataset_names()
  work = str(tmp_path / 'work')
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  python = bin_dir / 'python'  # `python` of the doc: the one under test
  python.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
  python.chmod(python.stat().st_mode | stat.S_IEXEC)
  env = dict(os.environ, WORK=work, TF_CPP_MIN_LOG_LEVEL='2',
             PATH='%s:%s' % (bin_dir, os.environ['PATH']))
  result = subprocess.run(['bash', '-euo', 'pipefail', '-c', _walk_through()],
                          cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=1500)
  assert result.returncode == 0, result.stdout[-4000:]
  assert sorted(os.listdir(os.path.join(work, 'tfrecord'))) == [
      'train-00000-of-00001.tfrecord', 'val-00000-of-00001.tfrecord']
  assert data_generator.count_records([os.path.join(
      work, 'tfrecord', 'val-00000-of-00001.tfrecord')]) == 8
  run = os.path.join(work, 'snapshots', 'own_dataset')
  tests = os.listdir(os.path.join(run, 'test'))
  assert len(tests) == 1 and tests[0].endswith('(best_val)')
  test_dir = os.path.join(run, 'test', tests[0], 'eval_scale_1.0')
  metrics = json.load(open(os.path.join(test_dir, 'metrics.json')))
  assert metrics['dataset'] == 'my_shapes' and metrics['num_images'] == 8
  assert [c['name'] for c in metrics['per_class']] == [
      'background', 'disc', 'square', 'triangle', 'cross']
  for name in ('per_class_iou.csv', 'confusion_matrix.png'):
    assert os.path.isfile(os.path.join(test_dir, name))
  val = json.load(open(os.path.join(run, 'val', 'metrics.json')))
  assert [e['global_step'] for e in val['checkpoints']] == [0, 15, 30]
  for folder in (os.path.join(run, 'train'), os.path.join(run, 'val'),
                 test_dir, os.path.join(work, 'predictions')):
    record = json.load(open(os.path.join(folder, 'run.json')))
    assert record['exit_status'] == 0, folder
    assert record['config']['dataset'] == 'my_shapes'
  predictions = os.listdir(os.path.join(work, 'predictions', 'color'))
  assert len(predictions) == 10
  assert os.path.isfile(os.path.join(run, 'run_plot.png'))
  assert 'training loss (total_loss): 10 points' in result.stdout
