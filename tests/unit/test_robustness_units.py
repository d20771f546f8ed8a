"""Issue 26, the parts testable in milliseconds: checkpoint state read
relative to its folder, every checkpoint seen under max_to_keep 0, checkpoint
path forms, positive options, the loss blow-up stop, summaries at the last
step, disk-full and permission errors, the atomic run marker and the
TensorBoard requirement."""
import errno
import os
import re
import shutil
import subprocess
import sys

import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h

from helpers.paths import REPO_ROOT
from li_programs.config import cli
from li_programs.config import config as config_lib
from li_programs.config import config_help
from li_programs.checkpoints import train_checkpoints
from li_programs.train import train_loop
from li_programs.train import initialization
from li_programs.train import loss_guard


def _save(folder, steps, max_to_keep=10, state=True):
  """Checkpoints of a one-variable model at ``steps``; their paths."""
  os.makedirs(folder, exist_ok=True)
  with tf.Graph().as_default():
    tf.get_variable('v', [2])
    saver = tf.train.Saver(max_to_keep=max_to_keep)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return [saver.save(sess, os.path.join(folder, 'model.ckpt'), s,
                         write_meta_graph=False, write_state=state)
              for s in steps]


def _write_state(folder, latest, paths):
  """A ``checkpoint`` file as TensorFlow's Saver writes it by default."""
  with open(os.path.join(folder, 'checkpoint'), 'w') as f:
    f.write('model_checkpoint_path: "%s"\n' % latest)
    for path in paths:
      f.write('all_model_checkpoint_paths: "%s"\n' % path)


# -- Row 1/2: a moved or copied folder. ----------------------------------

def test_state_with_absolute_paths_resolves_inside_its_folder(tmp_path):
  old = str(tmp_path / 'old' / 'train')
  paths = _save(old, [0, 5, 10])
  _write_state(old, paths[-1], paths)  # absolute, as TensorFlow writes
  new = str(tmp_path / 'new' / 'train')
  shutil.copytree(old, new)
  expected = [os.path.join(new, 'model.ckpt-%d' % s) for s in (0, 5, 10)]
  assert train_checkpoints.list_checkpoints(new) == expected
  # The copy prunes itself only: the original keeps every file.
  before = sorted(os.listdir(old))
  train_checkpoints.prune_checkpoints(new, [expected[-1]])
  assert sorted(os.listdir(old)) == before
  assert sorted(f for f in os.listdir(new) if f.endswith('.index')) == [
      'model.ckpt-10.index']
  # The state left behind names files, not paths.
  text = open(os.path.join(new, 'checkpoint')).read()
  assert str(tmp_path) not in text and '"model.ckpt-10"' in text


def test_moved_folder_resumes_from_its_own_checkpoint(tmp_path):
  from li_programs.checkpoints import checkpoint_state
  old = str(tmp_path / 'a')
  paths = _save(old, [0, 2])
  _write_state(old, paths[-1], paths)
  new = str(tmp_path / 'b')
  os.rename(old, new)
  assert checkpoint_state.latest(new) == os.path.join(new, 'model.ckpt-2')
  # Without a state file (deleted, or lost) the checkpoints still count.
  os.remove(os.path.join(new, 'checkpoint'))
  assert checkpoint_state.latest(new) == os.path.join(new, 'model.ckpt-2')
  assert initialization.model_init_fn(new, paths[0], False, []) is None


# -- Row 4: max_to_keep 0 lists only the newest checkpoint. ---------------

def test_max_to_keep_zero_keeps_every_checkpoint_scoreable(tmp_path):
  folder = str(tmp_path)
  paths = _save(folder, [0, 1, 2, 3], max_to_keep=0)
  assert tf.train.get_checkpoint_state(folder).all_model_checkpoint_paths == [
      paths[-1]]  # TensorFlow's own view
  assert train_checkpoints.all_checkpoints(folder) == paths


# -- Row 13: what --checkpoint_path accepts. -----------------------------

def test_checkpoint_path_accepts_folder_prefix_index_and_data(tmp_path):
  from li_programs.checkpoints import checkpoint_check
  from li_programs.checkpoints import checkpoint_paths
  folder = str(tmp_path / 'train')
  paths = _save(folder, [3, 7])
  for given, how in ((folder, 'the latest checkpoint in that folder'),
                     (paths[1], None),
                     (paths[1] + '.index', 'the checkpoint of that file'),
                     (paths[1] + '.data-00000-of-00001',
                      'the checkpoint of that file')):
    assert checkpoint_paths.resolve(given) == (paths[1], how)
  with pytest.raises(checkpoint_check.CheckpointError,
                     match=r'no checkpoint state.*its folder$'):
    checkpoint_paths.resolve(str(tmp_path))
  with pytest.raises(checkpoint_check.CheckpointError,
                     match=r'model\.ckpt-9\.index not found \(no .*model\.'
                     r'ckpt-9\.index\): .*\(\.index, \.data-\*\) or its'):
    checkpoint_paths.resolve(os.path.join(folder, 'model.ckpt-9.index'))


# -- Row 5: options that must be positive; a loss that blows up. ---------

@pytest.mark.parametrize('flag', ['--base_learning_rate=-1',
                                  '--adam_learning_rate=-1',
                                  '--train_batch_size=0',
                                  '--weight_decay=-0.1',
                                  '--train_crop_size=65,-1'])
def test_options_that_must_be_positive_are_refused(config, flag):
  name = flag[2:].split('=')[0]
  with pytest.raises(config_lib.ConfigError) as err:
    config_lib.load_config(config, 'train', [flag], notify=None)
  assert str(err.value).startswith('flag --%s: %s must be ' % (name, name))
  assert 'got ' + flag.split('=')[1] in str(err.value)


def test_help_states_the_bound_the_check_uses():
  text = config_help.format_help('train')
  entry = text[text.index('--base_learning_rate FLOAT'):]
  assert 'Must be > 0.' in entry[:entry.index('\n  --')]
  entry = text[text.index('--momentum FLOAT'):]
  assert 'Must be >= 0.' in entry[:entry.index('\n  --')]


def _exploding_ops():
  """TrainOps whose loss is 10 ** step."""
  from li_programs.train import training_graph
  step = tf.train.get_or_create_global_step()
  tf.get_variable('w', [], initializer=tf.ones_initializer())
  with tf.control_dependencies([tf.assign_add(step, 1)]):
    loss = tf.pow(10.0, tf.cast(step, tf.float32))
  return training_graph.TrainOps(loss, loss, step, tf.constant(0.1),
                                 tf.summary.scalar('loss', loss), None,
                                 tf.train.Saver(max_to_keep=None))


def test_loss_blow_up_stops_training_and_keeps_the_last_good_checkpoint(
    tmp_path, fresh_graph):
  ops = _exploding_ops()
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    with pytest.raises(loss_guard.TrainingDivergedError) as err:
      train_loop.train_loop(sess, ops, str(tmp_path), 20, 1, 0, 1)
  # First loss 10 (step 1); 1e8 at step 8 is past 1e6 times that.
  assert str(err.value).startswith('loss is 1e+08 at step 8, over 1e+06 '
                                   'times its first value 10 (step 1)')
  steps = sorted(train_checkpoints.global_step_of(p) for p in
                 train_checkpoints.all_checkpoints(str(tmp_path)))
  assert steps == list(range(8))


# -- Also seen: a short run writes its scalars at the last step. ---------

def test_summaries_and_log_line_at_the_last_step(tmp_path, fresh_graph,
                                                 capsys):
  ops = h.toy_train_ops()

  class Writer(object):
    steps = []

    def add_summary(self, unused_summary, step):
      self.steps.append(step)

    def flush(self):
      pass

  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    train_loop.train_loop(sess, ops, str(tmp_path), 3, 100, 100, 20,
                          writer=Writer())
  assert Writer.steps == [3]
  assert 'step 3: loss' in capsys.readouterr().out


# -- Row 10: disk full, no permission, a file in the way. ----------------

class _FailingSaver(object):
  """A Saver whose saves after the first fail as TensorFlow's do."""

  def __init__(self, saver, error):
    self.saver, self.error, self.calls = saver, error, 0

  def save(self, sess, prefix, global_step=None):
    self.calls += 1
    if self.calls > 1:
      raise self.error
    return self.saver.save(sess, prefix, global_step=global_step)


@pytest.mark.parametrize('error, cause', [
    (tf.errors.ResourceExhaustedError(
        None, None, 'model.ckpt-1.data-00000-of-00001.tempstate1; No space '
        'left on device'),
     'no space left on device; free some space'),
    (tf.errors.PermissionDeniedError(
        None, None, 'Failed to create a NewWriteableFile: x : Permission '
        'denied'),
     'permission denied; make it writable or pick another folder'),
    (tf.errors.FailedPreconditionError(None, None, 'x; Not a directory'),
     'a file is in the way where a folder is needed; move that file or pick '
     'another folder'),
])
def test_checkpoint_write_errors_are_one_line(tmp_path, fresh_graph, capsys,
                                              error, cause):
  ops = h.toy_train_ops()
  ops = ops._replace(saver=_FailingSaver(ops.saver, error))
  train_dir = str(tmp_path)

  def main(unused_argv):
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      train_loop.train_loop(sess, ops, train_dir, 4, 1, 0, 0)

  assert cli.run_program('train.py', main, []) == 2
  assert capsys.readouterr().err == (
      'train.py: error: cannot write checkpoint %s/model.ckpt-1 in %s: %s and '
      'run again; the last complete checkpoint, %s/model.ckpt-0, is kept and '
      'training resumes from it\n' % (train_dir, train_dir, cause, train_dir))


def _mount_tmpfs(path, size):
  os.makedirs(path, exist_ok=True)
  result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size,
                           'tmpfs', path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
  return result.returncode == 0


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() != 0,
                    reason='mounting a tmpfs needs root')
def test_a_really_full_disk_while_saving_is_one_line(tmp_path, fresh_graph):
  mount = str(tmp_path / 'small')
  if not _mount_tmpfs(mount, '1m'):
    pytest.skip('cannot mount a tmpfs here')
  try:
    ops = h.toy_train_ops()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      train_loop.train_loop(sess, ops, mount, 1, 1, 0, 0)
      try:
        with open(os.path.join(mount, 'filler'), 'wb') as f:
          while True:
            f.write(b'\0' * 4096)
            f.flush()
      except OSError as err:
        assert err.errno == errno.ENOSPC
      from li_programs.runtime import write_errors
      with pytest.raises(write_errors.WriteError) as err:
        train_loop.train_loop(sess, ops, mount, 3, 1, 0, 0)
    assert 'cannot write checkpoint %s/model.ckpt-2' % mount in str(err.value)
    assert 'no space left on device' in str(err.value)
    assert 'model.ckpt-1, is kept' in str(err.value)
    assert train_checkpoints.checkpoint_exists(
        os.path.join(mount, 'model.ckpt-1'))
  finally:
    subprocess.run(['umount', mount])


@pytest.mark.parametrize('err, expected', [
    (OSError(errno.ENOSPC, 'No space left on device', '/r/val/val_result.mat'),
     '/r/val/val_result.mat: no space left on device; free some space and '
     'run again'),
    (PermissionError(errno.EACCES, 'Permission denied', '/r/val'),
     '/r/val: permission denied; make it writable or pick another folder and '
     'run again'),
    (NotADirectoryError(errno.ENOTDIR, 'Not a directory', '/r/x/val'),
     '/r/x/val: a file is in the way where a folder is needed; move that '
     'file or pick another folder and run again'),
])
def test_os_errors_of_the_programs_are_one_line_with_a_fix(capsys, err,
                                                           expected):
  def main(unused_argv):
    raise err

  assert cli.run_program('validate.py', main, []) == 2
  assert capsys.readouterr().err == 'validate.py: error: %s\n' % expected


# -- Row 12: trainers started at the same instant. -----------------------

_RACE = """
import multiprocessing, os, sys, time
from li_programs.train import training_marker

def start(train_dir, barrier, results):
  barrier.wait()
  try:
    with training_marker.TrainingMarker(train_dir, log=lambda _: None):
      results.put('entered')
      time.sleep(0.2)
  except training_marker.TrainingAlreadyRunning:
    results.put('refused')

root, attempts, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for attempt in range(attempts):
  train_dir = os.path.join(root, str(attempt))
  barrier, results = multiprocessing.Barrier(count), multiprocessing.Queue()
  procs = [multiprocessing.Process(target=start, args=(train_dir, barrier,
                                                       results))
           for _ in range(count)]
  for proc in procs:
    proc.start()
  outcomes = [results.get(timeout=60) for _ in procs]
  for proc in procs:
    proc.join(60)
  print(outcomes.count('entered'),
        int(training_marker.read_marker(train_dir) is None))
"""


def test_of_trainers_started_together_exactly_one_trains(tmp_path):
  # A fresh interpreter without TensorFlow's threads forks the trainers:
  # 40 starts of 2 at a barrier, then 2 starts of 16.
  for attempts, count in ((40, 2), (2, 16)):
    result = subprocess.run(
        [sys.executable, '-c', _RACE, str(tmp_path / str(count)),
         str(attempts), str(count)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Per start: how many entered, and whether the marker was released.
    assert result.stdout.split('\n')[:-1] == ['1 1'] * attempts, (
        result.stdout)


# -- Also seen: TensorBoard in the TensorFlow 2.x environment. -----------

def test_tensorboard_is_pinned_for_every_python_of_the_tf2_environment():
  with open(os.path.join(REPO_ROOT, 'requirements-tf2.txt')) as f:
    lines = [l.split('#')[0].strip() for l in f]
  versions = {}
  for line in lines:
    match = re.match(r'^(tensorboard|tensorflow)==([\d.]+)(?:; *python_'
                     r'version *(==|>=|<=) *"3\.(\d+)")?$', line)
    if match:
      name, version, op, minor = match.groups()
      for python in range(9, 13):
        if (op is None or (op == '==' and python == int(minor)) or
            (op == '>=' and python >= int(minor)) or
            (op == '<=' and python <= int(minor))):
          versions.setdefault(name, {})[python] = version
  assert sorted(versions['tensorflow']) == [9, 10, 11, 12]
  assert sorted(versions.get('tensorboard', {})) == [9, 10, 11, 12]
  for python in range(9, 13):  # the same minor release as TensorFlow
    assert (versions['tensorboard'][python].split('.')[:2] ==
            versions['tensorflow'][python].split('.')[:2])


# -- Row 11: what makes validate.py score a checkpoint again. -------------

def test_a_score_is_reused_only_for_the_same_checkpoint_and_settings(
    config, tmp_path):
  from li_programs.evaluate import val_records
  cfg = config_lib.load_config(config, 'val', notify=None)
  settings = val_records.score_settings(cfg)
  faster = config_lib.load_config(config, 'val', [
      '--intra_op_threads=1', '--inference_engine=session',
      '--snapshot_root=' + str(tmp_path / 'elsewhere')], notify=None)
  assert val_records.score_settings(faster) == settings
  for flag in ('--eval_scales=0.75,1.0', '--add_flipped_images',
               '--eval_crop_size=97,97', '--val_split=train'):
    other = config_lib.load_config(config, 'val', [flag], notify=None)
    assert val_records.score_settings(other) != settings, flag
  paths = _save(str(tmp_path / 'train'), [1, 2])
  store = val_records.ScoredCheckpoints(str(tmp_path / 'val'), settings)
  store.add(paths[0], 0.25)
  again = val_records.ScoredCheckpoints(str(tmp_path / 'val'), settings)
  assert again.score_of(paths[0]) == 0.25 and again.score_of(paths[1]) is None
  other_settings = dict(settings, eval_scales=[0.5])
  assert val_records.ScoredCheckpoints(
      str(tmp_path / 'val'), other_settings).score_of(paths[0]) is None
  # A retrained checkpoint of the same name is scored anew.
  _save(str(tmp_path / 'train'), [1])
  assert val_records.ScoredCheckpoints(
      str(tmp_path / 'val'), settings).score_of(paths[0]) is None


def test_an_unreadable_val_result_stops_instead_of_being_overwritten(
    tmp_path):
  from li_programs.report import result_files
  val = tmp_path / 'val'
  val.mkdir()
  (val / 'val_result.mat').write_bytes(b'not a mat file')
  with pytest.raises(result_files.ResultFileError,
                     match=r'val_result\.mat cannot be read \(.*\): restore it '
                     r'or move it away \(validate\.py writes a new one\)$'):
    result_files.read_val_results(str(val))
  # Written results replace the file whole (no half-written file).
  result_files.write_val_results(str(val), ['/t/model.ckpt-1'], [0.5])
  assert sorted(os.listdir(str(val))) == ['val_result.mat', 'val_result.txt']
  assert result_files.read_val_results(str(val))[0] == ['/t/model.ckpt-1']
