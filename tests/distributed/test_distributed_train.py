"""train.py on TensorFlow's distributed runtime: one parameter server and
two workers as separate processes on 127.0.0.1 (free ports), training the
tiny synthetic config for a few steps.

Asynchronous run: a non-chief worker is SIGKILLed right after its first
step; the chief trains on to the target step and its checkpoint is then
evaluated by test.py.  Synchronous run (--sync_replicas) through
runners/train_distributed.sh.  Every process is stopped in ``finally``.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h
from li_programs.checkpoints import train_checkpoints

pytestmark = pytest.mark.slow

test_prog = h.load_program('test')

STEPS = 6
# The asynchronous run needs enough steps that the non-chief surely trains
# before the chief is done.
ASYNC_STEPS = 16
# Small and quick: one tower of batch 1 per worker, no summaries.  The
# timeout is generous because graph building is slow on a busy machine.
FLAGS = ['--num_clones=1', '--train_batch_size=1', '--log_steps=1',
         '--save_summaries_steps=0', '--startup_delay_steps=0',
         '--cluster_timeout_secs=400']
WAIT = 300  # seconds any one process may take
STEP_LINE = re.compile(r'^step (\d+): loss = \d+\.\d+ \(')


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('distributed'))
  _, _, config = h.synthetic_setup(root)
  return dict(root=root, config=config)


def _free_ports(count):
  socks = [socket.socket() for _ in range(count)]
  try:
    for s in socks:
      s.bind(('127.0.0.1', 0))
    return [s.getsockname()[1] for s in socks]
  finally:
    for s in socks:
      s.close()


def _child_env():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONUNBUFFERED='1')
  env.pop('TF_CONFIG', None)
  return env


class Task(object):
  """One train.py process whose output is collected line by line."""

  def __init__(self, argv, cwd):
    self.proc = subprocess.Popen(
        [sys.executable, '-u', os.path.join(h.REPO_ROOT, 'train.py')] + argv,
        cwd=cwd, env=_child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, universal_newlines=True)
    self.lines = []
    self._reader = threading.Thread(target=self._read, daemon=True)
    self._reader.start()

  def _read(self):
    for line in self.proc.stdout:
      self.lines.append(line.rstrip('\n'))

  def output(self):
    return '\n'.join(self.lines)

  def steps(self):
    return [int(m.group(1)) for m in map(STEP_LINE.match, self.lines) if m]

  def wait_for_step(self, timeout):
    deadline = time.time() + timeout
    while not self.steps():
      assert self.proc.poll() is None, 'exited early:\n' + self.output()[-3000:]
      assert time.time() < deadline, 'no step logged:\n' + self.output()[-3000:]
      time.sleep(0.2)

  def wait(self, timeout):
    status = self.proc.wait(timeout=timeout)
    self._reader.join(timeout=10)
    return status

  def kill(self):
    if self.proc.poll() is None:
      self.proc.kill()
      self.proc.wait(timeout=30)


@pytest.fixture(scope='module')
def async_run(env):
  """Runs the asynchronous cluster: the non-chief waits for the chief's
  initialisation, trains, and is SIGKILLed right after its first step; the
  chief trains on alone; the parameter server gets SIGTERM at the end."""
  ps_port, chief_port, worker_port = _free_ports(3)
  snapshot_root = os.path.join(env['root'], 'snap_async')
  cluster = ['--config_file', env['config'], '--snapshot_root', snapshot_root,
             '--ps_hosts=127.0.0.1:%d' % ps_port,
             '--worker_hosts=127.0.0.1:%d,127.0.0.1:%d' % (chief_port,
                                                           worker_port),
             '--training_number_of_steps=%d' % ASYNC_STEPS,
             '--save_checkpoint_steps=5']
  tasks = []
  try:
    ps = Task(cluster + FLAGS + ['--job_name=ps', '--task=0'], env['root'])
    tasks.append(ps)
    worker = Task(cluster + FLAGS + ['--job_name=worker', '--task=1'],
                  env['root'])
    tasks.append(worker)
    chief = Task(cluster + FLAGS + ['--job_name=worker', '--task=0'],
                 env['root'])
    tasks.append(chief)
    worker.wait_for_step(WAIT)
    worker.kill()
    chief_status = chief.wait(WAIT)
    ps.proc.send_signal(signal.SIGTERM)
    ps_status = ps.wait(60)
  finally:
    for task in tasks:
      task.kill()
  return dict(ps=ps, worker=worker, chief=chief, ps_port=ps_port,
              chief_status=chief_status, ps_status=ps_status,
              snapshot_root=snapshot_root,
              train_dir=os.path.join(snapshot_root, 'tiny', 'train'))


def test_async_cluster_survives_a_killed_worker(env, async_run):
  chief, worker, ps = async_run['chief'], async_run['worker'], async_run['ps']
  out = chief.output()
  assert async_run['chief_status'] == 0, out[-3000:]
  # Both workers trained; the non-chief died mid-run.
  assert worker.proc.returncode == -signal.SIGKILL
  assert worker.steps() and max(worker.steps()) < ASYNC_STEPS
  assert 'asynchronous updates, chief' in out
  assert chief.steps(), out[-3000:]
  final = re.search(r'Training finished at step (\d+); checkpoints in (.+)$',
                    out, re.M)
  assert final, out[-3000:]
  train_dir = async_run['train_dir']
  assert final.group(2) == train_dir
  assert int(final.group(1)) >= ASYNC_STEPS
  # The parameter server ended cleanly on SIGTERM.
  assert async_run['ps_status'] == 0, ps.output()[-3000:]
  assert 'ps task 0 (127.0.0.1:%d) stopped by signal 15' % (
      async_run['ps_port']) in ps.output()

  # Every listed checkpoint is complete; the last one reached the target
  # and test.py evaluates it.
  listed = train_checkpoints.list_checkpoints(train_dir)
  assert len(listed) >= 3  # the first, periodic ones, the final one
  assert all(train_checkpoints.checkpoint_exists(p) for p in listed)
  latest = tf.train.latest_checkpoint(train_dir)
  assert latest == listed[-1]
  assert train_checkpoints.global_step_of(latest) == int(final.group(1))
  assert tf.train.load_checkpoint(latest).get_tensor('global_step') == \
      int(final.group(1))
  snapshot_root = async_run['snapshot_root']
  assert test_prog.main(['--config_file', env['config'], '--snapshot_root',
                         snapshot_root, '--checkpoint_path', latest]) == 0
  result = os.path.join(snapshot_root, 'tiny', 'test',
                        os.path.basename(latest), 'eval_scale_1.0',
                        'test_result.txt')
  assert re.match(r'^mIoU: \d+\.\d\d%, acc: \d+\.\d\d%$',
                  open(result).read().strip())


def test_sync_replicas_cluster_from_the_runner(env, async_run):
  """Starts from the asynchronous run's checkpoint (the chief restores it,
  last layers excluded) and trains synchronously."""
  init = tf.train.latest_checkpoint(async_run['train_dir'])
  assert init
  snapshot_root = os.path.join(env['root'], 'snap_sync')
  logs = os.path.join(env['root'], 'sync_logs')
  runner = os.path.join(h.REPO_ROOT, 'runners', 'train_distributed.sh')
  proc = subprocess.Popen(
      ['bash', runner, env['config'], '--snapshot_root', snapshot_root,
       '--sync_replicas', '--tf_initial_checkpoint', init,
       '--training_number_of_steps=%d' % STEPS] + FLAGS,
      cwd=env['root'], env=dict(_child_env(), NUM_WORKERS='2', NUM_PS='1',
                                HOST='127.0.0.1', LOG_DIR=logs),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      universal_newlines=True, start_new_session=True)
  try:
    out, _ = proc.communicate(timeout=2 * WAIT)
  finally:
    if proc.poll() is None:
      os.killpg(proc.pid, signal.SIGKILL)
      proc.wait()
  assert proc.returncode == 0, out[-3000:]
  assert re.search(r'^cluster: ps 127\.0\.0\.1:\d+; workers '
                   r'127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+', out, re.M)
  logs_text = {}
  for name in ('ps_0', 'worker_0', 'worker_1'):
    with open(os.path.join(logs, name + '.log')) as f:
      logs_text[name] = f.read()
  chief, worker = logs_text['worker_0'], logs_text['worker_1']
  assert 'synchronous updates, chief' in chief
  assert re.search(r'^Initialised \d+ variables from the initial checkpoint',
                   chief, re.M)
  assert 'Initialised' not in worker  # only the chief restores
  assert 'Training finished at step' in out  # the chief's log is shown
  for text in (chief, worker):
    assert re.search(r'^step \d+: loss', text, re.M), text[-3000:]
  # The non-chief stopped by itself at the end (no hang on the token queue)
  # and the parameter server was stopped cleanly.
  assert re.search(r'worker task 1 \(.*\) finished at global step', worker)
  assert 'stopped by signal 15' in logs_text['ps_0']
  assert 'Traceback' not in chief + worker
  train_dir = os.path.join(snapshot_root, 'tiny', 'train')
  latest = tf.train.latest_checkpoint(train_dir)
  assert train_checkpoints.global_step_of(latest) >= STEPS
  assert tf.train.load_checkpoint(latest).get_tensor('global_step') >= STEPS
  # The chief saved the restored model before its first step: backbone
  # weights equal the initial checkpoint's, the excluded logits do not.
  first = tf.train.load_checkpoint(os.path.join(train_dir, 'model.ckpt-0'))
  start = tf.train.load_checkpoint(init)
  for name, same in (('MobilenetV2/Conv/weights', True),
                     ('logits/semantic/weights', False)):
    equal = (first.get_tensor(name) == start.get_tensor(name)).all()
    assert equal == same, name
