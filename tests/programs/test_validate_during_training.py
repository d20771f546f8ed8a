"""validate.py beside a running train.py: a real trainer and repeated
validations on tiny data.  Validation never fails because of the trainer,
deletes nothing while it trains, scores every checkpoint it finds, and the
trainer's checkpoint state never lists missing files; after training,
validate prunes and test.py tests the best score recorded."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import programs as h
from li_programs.checkpoints import train_checkpoints
from li_programs.report import result_files
from li_programs.train import training_marker

pytestmark = pytest.mark.slow


def _python(script, *args, **kwargs):
  return [sys.executable, '-u', os.path.join(h.REPO_ROOT, script)] + list(
      args)


def _listed_all_exist(train_dir):
  listed = train_checkpoints.list_checkpoints(train_dir)
  return listed, [p for p in listed
                  if not train_checkpoints.checkpoint_exists(p)]


def _wait_for(condition, timeout, proc=None):
  deadline = time.time() + timeout
  while time.time() < deadline:
    if condition():
      return True
    if proc is not None and proc.poll() is not None:
      return condition()
    time.sleep(0.5)
  return False


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('validate_during_training'))
  _, _, config = h.synthetic_setup(root)
  return dict(root=root, config=config,
              train_dir=os.path.join(root, 'snap', 'tiny', 'train'),
              val_dir=os.path.join(root, 'snap', 'tiny', 'val'))


def _validate(env):
  return subprocess.run(
      _python('validate.py', '--config_file', env['config']),
      cwd=env['root'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=600)


def test_validate_beside_a_running_trainer(env):
  # A trainer that keeps eight checkpoints (its Saver deletes older ones)
  # and runs until it is stopped.
  trainer = subprocess.Popen(
      _python('train.py', '--config_file', env['config'], '--num_clones=1',
              '--training_number_of_steps=100000', '--save_checkpoint_steps=4',
              '--max_to_keep=8', '--log_steps=1', '--random_seed=1',
              '--intra_op_threads=1', '--inter_op_threads=1'),
      cwd=env['root'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      universal_newlines=True)
  try:
    assert _wait_for(
        lambda: len(train_checkpoints.list_checkpoints(env['train_dir'])) >= 2,
        600, trainer), trainer.communicate(timeout=60)[0][-3000:]
    assert training_marker.running_trainer(env['train_dir']) is not None

    runs = []
    for _ in range(2):
      before = train_checkpoints.list_checkpoints(env['train_dir'])
      result = _validate(env)
      runs.append(result)
      assert trainer.poll() is None, 'the trainer stopped during validation'
      assert result.returncode == 0, result.stderr[-3000:]
      assert 'still training' in result.stdout
      assert 'checkpoint files, kept' not in result.stdout  # no pruning
      # Every checkpoint listed before validation began was scored unless
      # the trainer's own max_to_keep removed it meanwhile: with a notice
      # once validate.py had listed it, silently (and gone) before that --
      # a fast trainer deletes some while validate.py starts.
      scored, mious = result_files.read_val_results(env['val_dir'])
      notes = [l for l in result.stdout.splitlines()
               if l.startswith('note: ')]
      seen = [p for p in before
              if re.search(re.escape(p) + r'\b', result.stdout)]
      assert seen, result.stdout
      first_seen = min(train_checkpoints.global_step_of(p) for p in seen)
      for path in before:
        if train_checkpoints.global_step_of(path) < first_seen:
          assert not train_checkpoints.checkpoint_exists(path), (
              path, result.stdout)
          continue
        assert path in scored or any(
            l.startswith('note: %s ' % path) and 'skipped' in l
            for l in notes), (path, result.stdout)
      assert len(scored) >= 1 and np.all((mious >= 0) & (mious <= 1))
      # The trainer saves again: its state must still name only files that
      # exist (validate deleted none of the checkpoints it lists).
      newest = train_checkpoints.list_checkpoints(env['train_dir'])[-1]

      def saved_again(newest=newest):
        return train_checkpoints.list_checkpoints(
            env['train_dir'])[-1] != newest
      assert _wait_for(saved_again, 600, trainer)
      listed, missing = _listed_all_exist(env['train_dir'])
      assert not missing, (listed, missing)
  finally:
    if trainer.poll() is None:
      trainer.send_signal(signal.SIGTERM)
    output, _ = trainer.communicate(timeout=300)
  assert trainer.returncode == 128 + signal.SIGTERM, output[-3000:]
  assert training_marker.read_marker(env['train_dir']) is None

  # After training: a last validation scores the newest checkpoints and
  # prunes all but the best and the newest.
  listed = train_checkpoints.list_checkpoints(env['train_dir'])
  result = _validate(env)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'still training' not in result.stdout
  scored, mious = result_files.read_val_results(env['val_dir'])
  assert set(listed) <= set(scored)
  scores = dict(zip(scored, mious))
  # Ties: the first, as the original.
  best = max(listed, key=lambda p: (scores[p], -listed.index(p)))
  kept = sorted({best, listed[-1]})
  assert sorted(train_checkpoints.list_checkpoints(env['train_dir'])) == kept
  for path in listed:
    assert train_checkpoints.checkpoint_exists(path) == (path in kept)

  # test.py picks the best recorded score among the checkpoints that still
  # exist; a better one deleted earlier by the trainer is named.
  overall_best = scored[int(np.argmax(mious))]
  result = subprocess.run(
      _python('test.py', '--config_file', env['config']), cwd=env['root'],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  tested = max(kept, key=lambda p: (scores[p], -scored.index(p)))
  assert os.path.isdir(os.path.join(
      env['root'], 'snap', 'tiny', 'test',
      os.path.basename(tested) + '(best_val)'))
  if scores[overall_best] > scores[tested]:
    assert 'scored higher on val' in result.stdout
