"""The runs of ``make gpu-check`` (``benchmarks.gpu_check``), each a process.

``Runs`` starts the programs (``test.py``, ``train.py``, ``make demo``) and
benchmark workers on the GPU and, with ``CUDA_VISIBLE_DEVICES`` empty, on the
CPU, and compares what they wrote.
"""
import os
import subprocess
import sys

import numpy as np

from benchmarks import figures as figs

REPO_ROOT = figs.REPO_ROOT
SHARED_CHECKER = os.path.join(os.path.dirname(REPO_ROOT), 'shared',
                              'reference', 'train_step',
                              'train_step_check.py')
# The golden test's limit (tests/programs/test_tf_versions.py): the share
# of pixels whose class may differ between two builds.
MAX_L1 = 1e-3
# The limits the original's train-step check grants two runs of one build:
# the worst moving-statistics tensor, and the trainable weights together
# (relative differences of the updates).
MOVING_LIMIT = 1e-2
WEIGHTS_LIMIT = 0.2
TRAIN_CONFIG = 'config/ADE20K/liMnv2_liAspp.ini'
# A short demo: enough steps to validate and test two checkpoints.
DEMO_ENV = {'DEMO_STEPS': '60', 'DEMO_CHECKPOINT_STEPS': '30',
            'DEMO_NUM_TRAIN': '40', 'DEMO_NUM_VAL': '8',
            'DEMO_BN_BATCHES': '4', 'DEMO_FORCE': '1'}


class RunError(RuntimeError):
  """A program or worker failed (one-line message)."""


def tensorflow_version():
  import tensorflow as tf
  return 'TensorFlow %s' % tf.__version__


def _last_line(text):
  lines = [l.strip() for l in (text or '').splitlines() if l.strip()]
  return lines[-1] if lines else 'no output'


class Runs(object):
  """Starts the processes of the check under ``work_dir``.

  ``allow_cpu``: the "GPU" runs use the CPU as well (tests of the tool).
  """

  def __init__(self, work_dir, allow_cpu=False):
    self.work_dir = work_dir
    base = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    self.cpu_env = dict(base, CUDA_VISIBLE_DEVICES='')
    # The comparisons: no TF32, so that the GPU rounds as the CPU does.
    self.gpu_exact_env = dict(self.cpu_env if allow_cpu else base,
                              NVIDIA_TF32_OVERRIDE='0')
    self.gpu_env = self.cpu_env if allow_cpu else base
    self.allow_cpu = allow_cpu

  def _path(self, *names):
    return os.path.join(self.work_dir, *names)

  def _run(self, what, cmd, env):
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0:
      raise RunError('%s failed (status %d): %s' % (
          what, proc.returncode, _last_line(proc.stdout)))
    return proc.stdout

  def _worker(self, figure, records, checkpoint, env, crop, batch=None,
              warmup=0, repeats=1):
    """Runs one benchmark worker; returns its result dict."""
    import json
    out = self._path('%s.json' % figure)
    cmd = [sys.executable, '-m', 'benchmarks.worker', '--figure', figure,
           '--dataset_dir', records, '--out', out, '--checkpoint',
           checkpoint, '--crop', str(crop), '--warmup', str(warmup),
           '--repeats', str(repeats), '--inference_engine', 'session']
    if batch:
      cmd += ['--batch', str(batch)]
    self._run('the %s worker' % figure, cmd, env)
    with open(out) as f:
      return json.load(f)

  def golden(self, model, records, crop):
    """L1 between the confusion matrices of test.py on the GPU and on the
    CPU (LI model ``model``, seeded weights)."""
    import scipy.io
    figure = 'test_' + model
    checkpoint = self._path('weights_%s.ckpt' % figure)
    self._worker(figure, records, checkpoint, self.cpu_env, crop)
    hists = []
    for device, env in (('cpu', self.cpu_env), ('gpu', self.gpu_exact_env)):
      out_dir = self._path('test_%s_%s' % (model, device))
      self._run('test.py %s on the %s' % (model, device.upper()), [
          sys.executable, os.path.join(REPO_ROOT, 'test.py'),
          '--config_file', os.path.join(REPO_ROOT, figs.FIGURES[figure][1]),
          '--dataset_dir', records, '--test_split', 'val',
          '--snapshot_root', self._path('snapshots'),
          '--checkpoint_path', checkpoint, '--test_resdir', out_dir,
          '--eval_crop_size', '%d,%d' % (crop, crop),
          '--inference_engine', 'session'], env)
      hists.append(scipy.io.loadmat(os.path.join(
          out_dir, 'test_result.mat'))['hist_total'].astype(np.float64))
    if not hists[0].sum():
      raise RunError('test.py %s scored no pixel' % model)
    return float(np.abs(hists[0] - hists[1]).sum() / hists[0].sum())

  def train_step(self, records, crop, batch):
    """One train.py step of LI-MNV2 on the GPU and on the CPU from one
    checkpoint and seed: the relative differences of their updates."""
    import tensorflow.compat.v1 as tf
    checkpoint = self._path('weights_train_li_mnv2.ckpt')
    self._worker('train_li_mnv2', records, checkpoint, self.cpu_env, crop,
                 batch)
    finals = []
    for device, env in (('cpu', self.cpu_env), ('gpu', self.gpu_exact_env)):
      train_dir = self._path('train_%s' % device)
      self._run('train.py on the %s' % device.upper(), [
          sys.executable, os.path.join(REPO_ROOT, 'train.py'),
          '--config_file', os.path.join(REPO_ROOT, TRAIN_CONFIG),
          '--dataset_dir', records, '--train_split', 'train',
          '--snapshot_root', self._path('snapshots'),
          '--train_logdir', train_dir, '--tf_initial_checkpoint', checkpoint,
          '--initialize_last_layer=true', '--training_number_of_steps=1',
          '--train_batch_size=%d' % batch, '--num_clones=1',
          '--train_crop_size=%d,%d' % (crop, crop), '--random_seed=1'], env)
      finals.append(tf.train.latest_checkpoint(train_dir))
    moving, weights = update_differences(checkpoint, *finals)
    return {'moving': moving, 'weights': weights,
            'passed': moving <= MOVING_LIMIT and weights <= WEIGHTS_LIMIT}

  def shared_train_step_check(self):
    """The original's train-step check (case_A) on the GPU, where
    ``../shared`` holds it (None otherwise, and under ``allow_cpu``)."""
    if self.allow_cpu or not os.path.isfile(SHARED_CHECKER):
      return None
    proc = subprocess.run(
        [sys.executable, SHARED_CHECKER,
         os.path.join(os.path.dirname(SHARED_CHECKER), 'case_A')],
        cwd=REPO_ROOT, env=dict(self.gpu_exact_env, TMPDIR=self.work_dir),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True)
    return {'passed': proc.returncode == 0 and
                      _last_line(proc.stdout) == 'PASS',
            'summary': _last_line(proc.stdout)}

  def demo(self):
    """A short ``make demo TF=2`` on the GPU."""
    env = dict(self.gpu_env, DEMO_OUTPUT=self._path('demo'), **DEMO_ENV)
    proc = subprocess.run(['make', '--no-print-directory', 'demo', 'TF=2'],
                          cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    return {'passed': proc.returncode == 0,
            'summary': _last_line(proc.stdout)}

  def figures(self, model, baseline, records, crop, batch, warmup, repeats):
    """The make bench figures of LI ``model`` and ``baseline`` on the GPU:
    per image, per step at ``batch``, peak GPU memory."""
    row = {'model': model, 'baseline': baseline}
    for mode in ('test', 'train'):
      for name, key in ((model, mode), (baseline, mode + '_baseline')):
        figure = '%s_%s' % (mode, name)
        result = self._worker(
            figure, records, self._path('weights_%s.ckpt' % figure),
            self.gpu_env, crop, batch if mode == 'train' else None, warmup,
            repeats)
        row[key + '_s'] = result['timing']['median_s']
        row[key + '_gpu_peak_mib'] = result.get('gpu_peak_mib')
        row[key + '_peak_rss_mib'] = result['peak_rss_mib']
    return row


def update_differences(initial, reference, other):
  """Relative differences of two runs' updates from checkpoint ``initial``:
  the worst BatchNorm moving-statistics tensor, and all other model
  variables together (``||u_other - u_ref|| / ||u_ref||``)."""
  import tensorflow.compat.v1 as tf
  start = tf.train.load_checkpoint(initial)
  start_names = set(start.get_variable_to_shape_map())
  ref, oth = tf.train.load_checkpoint(reference), tf.train.load_checkpoint(
      other)
  worst, num, den = 0.0, 0.0, 0.0
  for name in sorted(ref.get_variable_to_shape_map()):
    if (name == 'global_step' or 'Momentum' in name or
        'ExponentialMovingAverage' in name):
      continue
    first = ref.get_tensor(name)
    if first.dtype.kind != 'f':
      continue
    before = (start.get_tensor(name).astype(np.float64)
              if name in start_names else np.zeros(first.shape))
    update_ref = first.astype(np.float64) - before
    update_oth = oth.get_tensor(name).astype(np.float64) - before
    gap = np.sum((update_oth - update_ref) ** 2)
    if name.endswith(('moving_mean', 'moving_variance')):
      size = np.sum(update_ref ** 2)
      if gap:
        worst = max(worst, float(np.sqrt(gap / max(size, 1e-30))))
    else:
      num += gap
      den += np.sum(update_ref ** 2)
  return worst, (float(np.sqrt(num / den)) if den else 0.0)
