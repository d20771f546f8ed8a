"""Command lines of train/validate/test and the runners: config errors,
missing inputs, NaN and interrupt handling of the training loop."""

import glob
import os
import subprocess
import sys
import types

import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h

from li_programs.checkpoints import train_checkpoints
from li_programs.config import cli
from li_programs.report import result_files
from li_programs.runtime import run_folders
from li_programs.train import loss_guard
from li_programs.train import train_loop

pytestmark = pytest.mark.tf2

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')


def _run(prog, module, argv, capsys):
  status = cli.run_program(prog, module.main, argv)
  err = capsys.readouterr().err.strip().splitlines()
  return status, (err[-1] if err else '')


def _edit(path, old, new):
  text = open(path).read()
  assert old in text
  with open(path, 'w') as f:
    f.write(text.replace(old, new))
  return path


def test_flag_typo_from_another_folder_with_repo_relative_config(tmp_path):
  cmd = [sys.executable, os.path.join(h.REPO_ROOT, 'train.py'),
         '--trian_batch_size=4', '--config_file',
         'config/ADE20K/liMnv2_liAspp.ini']
  proc = subprocess.run(cmd, cwd=str(tmp_path), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=120)
  assert proc.returncode == 2
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith('train.py: error: unknown flag --trian_batch_size')
  assert 'train_batch_size' in last


def test_unknown_section_lists_close_matches(config, capsys):
  _edit(config, '[train]', '[trian]')
  status, err = _run('train.py', train_prog, ['--config_file', config],
                     capsys)
  assert status == 2
  assert 'unknown section [trian]' in err and 'did you mean train' in err


def test_unknown_key_lists_close_matches(config, capsys):
  _edit(config, 'train_batch_size = 2', 'train_bach_size = 2')
  status, err = _run('validate.py', validate_prog,
                     ['--config_file=' + config], capsys)
  assert status == 2
  assert "unknown key 'train_bach_size' in [train]" in err
  assert 'did you mean train_batch_size' in err


def test_missing_required_key_is_named(config, capsys):
  _edit(config, 'model_variant = li_mobilenet_v2\n', '')
  status, err = _run('test.py', test_prog, ['--config_file', config], capsys)
  assert status == 2
  assert "required option 'model_variant' is missing" in err


def test_wrong_type_names_key_and_value(config, capsys):
  _edit(config, 'train_batch_size = 2', 'train_batch_size = two')
  status, err = _run('train.py', train_prog, ['--config_file', config],
                     capsys)
  assert status == 2
  assert 'train_batch_size must be an integer' in err and "'two'" in err
  _edit(config, 'train_batch_size = two', 'train_batch_size = 2')
  status, err = _run('train.py', train_prog,
                     ['--config_file', config, '--num_clones', 'many'], capsys)
  assert status == 2 and "num_clones must be an integer, got 'many'" in err


def test_batch_not_divisible_by_clones(config, capsys):
  status, err = _run('train.py', train_prog,
                     ['--config_file', config, '--num_clones=3'], capsys)
  assert status == 2
  assert err == ('train.py: error: train_batch_size (2) must be divisible by '
                 'num_clones (3)')


def test_missing_config_file_and_flag(tmp_path, capsys):
  status, err = _run('train.py', train_prog, [], capsys)
  assert status == 2 and '--config_file is required' in err
  missing = str(tmp_path / 'nope.ini')
  status, err = _run('test.py', test_prog, ['--config_file', missing], capsys)
  assert status == 2 and 'nope.ini' in err and 'not found' in err


def test_missing_checkpoints_and_results_are_clear(config, capsys):
  status, err = _run('validate.py', validate_prog, ['--config_file', config],
                     capsys)
  assert status == 2 and 'no checkpoint listed in' in err
  status, err = _run('test.py', test_prog, ['--config_file', config], capsys)
  assert status == 2 and 'run validate.py first' in err
  status, err = _run('test.py', test_prog,
                     ['--config_file', config,
                      '--checkpoint_name=model.ckpt-9'], capsys)
  assert status == 2 and 'checkpoint_name model.ckpt-9: no checkpoint' in err
  status, err = _run('train.py', train_prog,
                     ['--config_file', config], capsys)
  assert status == 2 and 'no TFRecord files for split' in err


def test_resolve_checkpoint_order(tmp_path):
  dirs = run_folders.output_dirs(str(tmp_path), 'c')
  os.makedirs(dirs.train)
  with tf.Graph().as_default():
    tf.get_variable('v', [1])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver = tf.train.Saver()
      first = saver.save(sess, os.path.join(dirs.train, 'model.ckpt'), 1)
      second = saver.save(sess, os.path.join(dirs.train, 'model.ckpt'), 2)
  result_files.write_val_results(dirs.val, [first, second], [0.7, 0.2])
  cfg = types.SimpleNamespace(checkpoint_path=None, checkpoint_name=None)
  assert result_files.resolve_test_checkpoint(cfg, dirs) == (first, True)
  cfg.checkpoint_name = 'model.ckpt-2'
  assert result_files.resolve_test_checkpoint(cfg, dirs) == (second, False)
  cfg.checkpoint_path = first
  assert result_files.resolve_test_checkpoint(cfg, dirs) == (first, False)


def test_nan_loss_stops_naming_the_step(tmp_path, fresh_graph):
  ops = h.toy_train_ops(nan_from_step=3)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    with pytest.raises(loss_guard.TrainingDivergedError,
                       match='loss is nan at step 3'):
      train_loop.train_loop(sess, ops, str(tmp_path), 10, 0, 0, 1)


def test_interrupt_saves_at_current_step(tmp_path, fresh_graph, capsys):
  ops = h.toy_train_ops(nan_from_step=100)

  class StopAfter(object):
    """Reports a signal once two steps have run."""

    def __init__(self, sess):
      self.sess = sess

    @property
    def signum(self):
      return 15 if self.sess.run(ops.global_step) >= 2 else None

  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    with pytest.raises(train_loop.TrainingInterrupted):
      train_loop.train_loop(sess, ops, str(tmp_path), 10, 0, 0, 1,
                            stop=StopAfter(sess))
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('model.ckpt-2')
  assert 'step 2: loss = 1.0000' in capsys.readouterr().out


def _bash(args, cwd, env_extra):
  env = dict(os.environ, **env_extra)
  return subprocess.run(['bash'] + args, cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=120)


def test_runners_report_missing_checkpoint_dataset_and_config(tmp_path):
  runners = os.path.join(h.REPO_ROOT, 'runners')
  snaps = str(tmp_path / 'snaps')
  for name, dataset in (('ade20k', 'ade20k'),
                        ('pascalVoc2012', 'pascal_voc2012'),
                        ('celebaMask', 'celeba_mask')):
    proc = _bash([os.path.join(runners, 'evaluate_%s.sh' % name)],
                 str(tmp_path), {'LI_SNAPSHOTS': snaps})
    assert proc.returncode == 2, proc.stderr
    # Every path tried: the published zip's folder, then the config's name.
    tried = ', '.join('%s/LI_models/%s/%s/model.ckpt.index'
                      % (snaps, dataset, folder)
                      for folder in ('LI-MNV2_LI-ASPP', 'liMnv2_liAspp'))
    assert proc.stderr.strip() == (
        'evaluate_%s.sh: error: published checkpoint of liMnv2_liAspp not '
        'found (tried %s); download the LI-Convs snapshots (LI_models/) to '
        '%s or set LI_SNAPSHOTS' % (name, tried, snaps))
  proc = _bash([os.path.join(runners, 'evaluate_ade20k.sh')], str(tmp_path),
               {'LI_SNAPSHOTS': snaps, 'LI_CONFIG': 'liResnet50_liAspp_dcd'})
  assert 'LI_models/ade20k/LI-ResNet50_LI-ASPP_Decoder/model.ckpt' in \
      proc.stderr
  proc = _bash([os.path.join(runners, 'train_ade20k.sh'),
                '--dataset_dir=%s' % (tmp_path / 'no_data')], str(tmp_path),
               {})
  assert proc.returncode == 2
  assert proc.stderr.strip() == (
      'train_ade20k.sh: error: dataset folder %s not found; build the '
      'dataset with the scripts in dataset_generation/ or pass '
      '--dataset_dir=...' % (tmp_path / 'no_data'))
  proc = _bash([os.path.join(runners, 'train_celebaMask.sh')], str(tmp_path),
               {'LI_CONFIG': 'liMnv3'})
  assert proc.returncode == 2 and 'liMnv2_liAspp' in proc.stderr
  proc = _bash([os.path.join(runners, 'train_pascalVoc2012.sh'),
                '--trian_batch_size=2'], str(tmp_path), {})
  assert proc.returncode == 2 and 'train_batch_size' in proc.stderr


def _saved_steps(train_dir):
  return sorted(train_checkpoints.global_step_of(p)
                for p in train_checkpoints.list_checkpoints(train_dir))


def test_checkpoint_written_at_the_start(tmp_path, fresh_graph):
  """As the original's checkpoint saver: model.ckpt-<start step> when the
  session starts, then every save_checkpoint_steps, and the last step."""
  ops = h.toy_train_ops()
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    assert train_loop.train_loop(sess, ops, str(tmp_path), 5, 2, 0, 0) == 5
    assert _saved_steps(str(tmp_path)) == [0, 2, 4, 5]
    # A resumed run starts from an existing checkpoint: nothing is re-saved.
    assert train_loop.train_loop(sess, ops, str(tmp_path), 7, 0, 0, 0) == 7
  assert _saved_steps(str(tmp_path)) == [0, 2, 4, 5, 7]


class _FakeClock(object):
  """Ten seconds pass every time the time is read."""

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    self.now += 10.0
    return self.now


def test_checkpoints_and_summaries_every_n_seconds(tmp_path, fresh_graph):
  ops = h.toy_train_ops()
  writer = tf.summary.FileWriter(str(tmp_path))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    train_loop.train_loop(sess, ops, str(tmp_path), 4, 0, 0, 0,
                          writer=writer, save_interval_secs=5,
                          save_summaries_secs=5, clock=_FakeClock())
  writer.close()
  assert _saved_steps(str(tmp_path)) == [0, 1, 2, 3, 4]
  steps = set()
  for path in glob.glob(str(tmp_path / 'events.*')):
    for event in tf.train.summary_iterator(path):
      if event.summary.value:
        steps.add(event.step)
  assert steps == {1, 2, 3, 4}
