"""make gpu-check (benchmarks/gpu_check.py) without a GPU, and its steps run
on the CPU (--allow_cpu): the GPU path itself needs a GPU machine."""
import json
import os
import subprocess
import sys

import pytest

from benchmarks import gpu_check
from benchmarks import gpu_runs
from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.tf2


def _run(cmd, env=None):
  return subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=600)


def test_make_gpu_check_without_a_gpu_says_so_in_one_line(tmp_path):
  # An nvidia-smi that lists no GPU (as on a machine without a driver).
  fake = tmp_path / 'nvidia-smi'
  fake.write_text('#!/bin/sh\necho "No devices were found"\nexit 6\n')
  fake.chmod(0o755)
  env = dict(os.environ, PATH='%s:%s' % (tmp_path, os.environ['PATH']))
  proc = _run(['make', '--no-print-directory', 'gpu-check'], env)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines() == [
      'make gpu-check: no NVIDIA GPU here (nvidia-smi lists none); nothing '
      'to check']


def test_gpu_check_without_a_gpu_exits_0_in_one_line():
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2')
  proc = _run([sys.executable, '-m', 'benchmarks.gpu_check'], env)
  assert proc.returncode == 0, proc.stderr[-2000:]
  (line,) = proc.stdout.splitlines()
  assert line.startswith('gpu-check: TensorFlow ')
  assert line.endswith(' sees no GPU here; nothing to check (run `make '
                       'gpu-check` on a machine with an NVIDIA GPU)')


def test_update_differences_measure_the_updates(tmp_path):
  import numpy as np
  import tensorflow.compat.v1 as tf
  paths = {}
  values = {'init': (1.0, 0.0), 'cpu': (2.0, 1.0), 'gpu': (2.1, 1.0)}
  for name, (weight, mean) in values.items():
    with tf.Graph().as_default():
      tf.Variable(np.full([4], weight, np.float32), name='conv/weights')
      tf.Variable(np.full([2], mean, np.float32),
                  name='conv/BatchNorm/moving_mean')
      tf.Variable(np.full([4], 9.0 + weight, np.float32),
                  name='conv/weights/Momentum')
      with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        paths[name] = tf.train.Saver().save(sess, str(tmp_path / name))
  moving, weights = gpu_runs.update_differences(paths['init'], paths['cpu'],
                                                paths['gpu'])
  # Updates 1.0 and 1.1 of the weights (the optimizer slot is left out);
  # equal updates of the moving mean.
  assert moving == 0.0
  assert weights == pytest.approx(0.1)


def test_bad_models_are_a_one_line_error(capsys):
  with pytest.raises(SystemExit):
    gpu_check.parse_args(['--models=li_x'])
  assert "--models: unknown model(s) li_x; allowed values: li_mnv2, li_r50" \
      in capsys.readouterr().err


@pytest.mark.slow
def test_every_step_runs_on_the_cpu(tmp_path):
  doc = tmp_path / 'performance.md'
  doc.write_text('%s\nnot run yet\n%s\n' % (gpu_check.BEGIN, gpu_check.END))
  output = tmp_path / 'gpu.json'
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = _run([sys.executable, '-m', 'benchmarks.gpu_check', '--allow_cpu',
               '--skip_demo', '--models=li_mnv2', '--crop=65', '--batch=2',
               '--warmup=0', '--repeats=1', '--num_images=2',
               '--image_size=60', '--work_dir=%s' % (tmp_path / 'work'),
               '--output=%s' % output, '--doc=%s' % doc], env)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  with open(str(output)) as f:
    results = json.load(f)
  assert results['passed'] and results['gpus'] == []
  checks = results['checks']
  assert set(checks) == {'golden_li_mnv2', 'train_step'}
  # The same device twice: the same labels, the same update.
  assert checks['golden_li_mnv2']['l1'] == 0.0
  assert checks['train_step']['moving'] == checks['train_step']['weights'] \
      == 0.0
  (row,) = results['rows']
  assert row['model'] == 'li_mnv2' and row['baseline'] == 'mnv2'
  assert min(row['test_s'], row['train_s'], row['test_baseline_s'],
             row['train_baseline_s']) > 0
  assert row['test_gpu_peak_mib'] is None  # no GPU: nothing to report
  text = doc.read_text()
  assert 'not run yet' not in text
  assert gpu_check.format_markdown(results) in text
  verdicts = [l for l in proc.stdout.splitlines()
              if l.startswith(('PASS', 'FAIL'))]
  assert verdicts == [
      'PASS test.py li_mnv2 on the GPU against the CPU: confusion matrices '
      'differ by L1 0.00e+00 (limit 1e-03)',
      'PASS one train.py step of li_mnv2 on the GPU against the CPU: moving '
      'statistics 0.00e+00 (limit 1e-02), weights 0.00e+00 (limit 0.20)']
