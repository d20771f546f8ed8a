"""Unusable checkpoints end in one line naming the checkpoint and the cause:
another config (up to five variables named, the shipped config that fits),
a missing .data file, truncated or corrupt files; validate.py keeps every
score it had when a later checkpoint fails."""
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h
from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import train_checkpoints
from li_programs.config import cli
from li_programs.report import result_files

pytestmark = pytest.mark.slow

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')

OTHER_CONFIG = os.path.join(h.REPO_ROOT, 'config', 'demo',
                            'mnv2_aspp_shapes.ini')


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('ckpt_errors'))
  records, _, config = h.synthetic_setup(root)
  good = h.save_model_checkpoint(config, os.path.join(root, 'good',
                                                      'model.ckpt'))
  other = h.save_model_checkpoint(OTHER_CONFIG, os.path.join(
      root, 'other', 'model.ckpt'))
  return dict(root=root, records=records, config=config, good=good,
              other=other)


def _run(module, prog, argv, capsys):
  """(status, stdout, stderr lines); the original-behaviour notes the tiny
  config triggers are left out (test_programs_original_options checks
  them)."""
  status = cli.run_program(prog, module.main, argv)
  captured = capsys.readouterr()
  return status, captured.out, [
      line for line in captured.err.strip().splitlines()
      if not line.startswith('%s: note: ' % prog)]


def _copy_checkpoint(src, dst_dir, name='model.ckpt'):
  os.makedirs(dst_dir, exist_ok=True)
  for path in train_checkpoints.checkpoint_files(src):
    suffix = path[len(src):]
    shutil.copy(path, os.path.join(dst_dir, name + suffix))
  return os.path.join(dst_dir, name)


def _data_file(checkpoint):
  return checkpoint + '.data-00000-of-00001'


def _parenthesised_names(text, after):
  inner = re.search(re.escape(after) + r' \(([^)]*)\)', text).group(1)
  return [n for n in inner.split(', ') if n != '...']


def test_checkpoint_of_another_config_names_variables_and_the_fitting_config(
    env, capsys):
  status, _, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--checkpoint_path', env['other']],
                        capsys)
  assert status == 2 and len(err) == 1, err
  line = err[0]
  assert line.startswith('test.py: error: checkpoint %s does not fit the '
                         'model of %s: ' % (env['other'], env['config']))
  missing = _parenthesised_names(line, 'missing from it')
  assert 1 <= len(missing) <= 5
  assert any('li_weights' in n or 'li_aspp' in n for n in missing)
  unknown = _parenthesised_names(line, 'unknown to the model')
  assert 1 <= len(unknown) <= 5 and any(n.startswith('aspp') for n in unknown)
  assert line.endswith('; config/demo/mnv2_aspp_shapes.ini fits it')


def test_reshaped_variables_are_listed_and_no_fitting_config_is_said(
    env, capsys):
  narrow = h.save_model_checkpoint(
      env['config'], os.path.join(env['root'], 'narrow', 'model.ckpt'),
      ['--depth_multiplier=0.75'])
  status, _, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--checkpoint_path', narrow], capsys)
  assert status == 2 and len(err) == 1
  match = re.search(r'(\d+) have other shapes \((.*?)\)(, |;)', err[0])
  assert match and int(match.group(1)) > 5
  shown = match.group(2).split('; ')
  assert len(shown) == 6 and shown[-1] == '...'
  assert re.match(r'MobilenetV2/\S+: checkpoint \[.*\], model \[.*\]',
                  shown[0])
  assert err[0].endswith('no shipped config fits it either: was it trained '
                         'with other model or LI options (e.g. '
                         '--li_backbone_option_mnv2)?')


def test_missing_data_file_is_named(env, capsys):
  checkpoint = _copy_checkpoint(env['good'],
                                os.path.join(env['root'], 'no_data'))
  os.remove(_data_file(checkpoint))
  status, _, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--checkpoint_path', checkpoint],
                        capsys)
  assert status == 2
  assert err == ['test.py: error: checkpoint %s is incomplete: '
                 'model.ckpt.data-00000-of-00001 is missing (the .index is '
                 'there); copy the .data file(s) beside the .index, or use '
                 'another checkpoint' % checkpoint]


def test_truncated_data_file_is_named_damaged(env, capsys):
  checkpoint = _copy_checkpoint(env['good'],
                                os.path.join(env['root'], 'truncated'))
  with open(_data_file(checkpoint), 'r+b') as f:
    f.truncate(os.path.getsize(_data_file(checkpoint)) // 2)
  status, _, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--checkpoint_path', checkpoint],
                        capsys)
  assert status == 2 and len(err) == 1
  assert err[0] == ('test.py: error: checkpoint %s is damaged: its data is '
                    'truncated or corrupt (Read less bytes than requested); '
                    'copy it again or use another checkpoint' % checkpoint)


def test_corrupt_index_is_named_damaged(env, capsys):
  checkpoint = _copy_checkpoint(env['good'],
                                os.path.join(env['root'], 'bad_index'))
  with open(checkpoint + '.index', 'r+b') as f:
    f.truncate(10)
  status, _, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--checkpoint_path', checkpoint],
                        capsys)
  assert status == 2 and len(err) == 1
  assert err[0].startswith('test.py: error: checkpoint %s is damaged: '
                           '%s.index cannot be read (' % (checkpoint,
                                                          checkpoint))


def _train_dir_with(env, name, sources):
  """A train folder whose state lists model.ckpt-<2i> copied from
  ``sources`` (checkpoint paths), oldest first."""
  train_dir = os.path.join(env['root'], name, 'tiny', 'train')
  paths = [_copy_checkpoint(src, train_dir, 'model.ckpt-%d' % (2 * i + 2))
           for i, src in enumerate(sources)]
  tf.train.update_checkpoint_state(train_dir, paths[-1],
                                   all_model_checkpoint_paths=paths)
  return train_dir, paths


def test_validate_skips_a_damaged_checkpoint_and_keeps_the_other_scores(
    env, capsys):
  train_dir, paths = _train_dir_with(env, 'snap_damaged', [env['good']] * 3)
  with open(_data_file(paths[1]), 'r+b') as f:
    f.truncate(100)
  status, out, err = _run(validate_prog, 'validate.py', [
      '--config_file', env['config'],
      '--snapshot_root', os.path.join(env['root'], 'snap_damaged')], capsys)
  assert status == 1
  err = [line for line in err if ': error: ' in line]  # not the progress
  assert len(err) == 2
  assert err[0] == ('validate.py: error: checkpoint %s is damaged: its data '
                    'is truncated or corrupt (Read less bytes than '
                    'requested); copy it again or use another checkpoint; '
                    'skipped, the other scores are kept' % paths[1])
  assert err[-1] == ('validate.py: error: 1 checkpoint(s) could not be '
                     'evaluated: %s' % paths[1])
  scored, mious = result_files.read_val_results(
      os.path.join(os.path.dirname(train_dir), 'val'))
  assert scored == [paths[0], paths[2]] and np.all(np.isfinite(mious))
  # Nothing is deleted while a checkpoint could not be evaluated.
  assert all(train_checkpoints.checkpoint_files(p) for p in paths)
  assert 'no checkpoint deleted: 1 could not be evaluated' in out


def test_validate_writes_each_score_before_a_later_checkpoint_fails(
    env, capsys):
  train_dir, paths = _train_dir_with(
      env, 'snap_mixed', [env['good'], env['good'], env['other']])
  status, _, err = _run(validate_prog, 'validate.py', [
      '--config_file', env['config'],
      '--snapshot_root', os.path.join(env['root'], 'snap_mixed')], capsys)
  assert status == 2
  assert err[-1].startswith('validate.py: error: checkpoint %s does not fit '
                            'the model of %s' % (paths[2], env['config']))
  scored, _ = result_files.read_val_results(
      os.path.join(os.path.dirname(train_dir), 'val'))
  assert scored == paths[:2]


def test_train_refuses_to_resume_from_another_configs_checkpoint(env, capsys):
  train_dir, paths = _train_dir_with(env, 'snap_resume', [env['other']])
  status, _, err = _run(train_prog, 'train.py', [
      '--config_file', env['config'], '--num_clones=1',
      '--snapshot_root', os.path.join(env['root'], 'snap_resume')], capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('train.py: error: checkpoint %s does not fit the '
                           'model of %s: ' % (paths[0], env['config']))
  assert 'config/demo/mnv2_aspp_shapes.ini fits it' in err[0]
  # The refused checkpoint is left as it was.
  assert train_checkpoints.list_checkpoints(train_dir) == paths


def test_optimizer_slots_missing_is_said_as_such(tmp_path):
  with tf.Graph().as_default():
    w = tf.get_variable('w', [2])
    tf.train.AdamOptimizer().minimize(tf.reduce_sum(w))
    variables = tf.global_variables()
  stored = {'w': [2]}
  missing, reshaped, _ = checkpoint_check.compare(
      stored, checkpoint_check.variable_shapes(variables))
  assert missing == ['beta1_power', 'beta2_power', 'w/Adam', 'w/Adam_1']
  assert not reshaped
  assert all(checkpoint_check.is_bookkeeping(n) for n in missing)
