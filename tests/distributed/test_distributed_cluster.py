"""Cluster descriptions (flags, TF_CONFIG, --master), their errors, graph
placement, host probing and the distributed training loop, all in this
process (the multi-process runs are in test_distributed_train.py)."""

import json
import os
import socket
import threading
import time

import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h
from li_programs.distributed import cluster as cl
from li_programs.config import config as config_lib
from li_programs.distributed import distributed_runtime as dt
from li_programs.config import cli
from li_programs.distributed import distributed_train
from li_programs.train import loss_guard

pytestmark = pytest.mark.slow

train_prog = h.load_program('train')


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
  root = tmp_path_factory.mktemp('dist_cfg')
  return h.write_config(str(root / 'c' / 'tiny.ini'), str(root / 'data'),
                        str(root / 'snap'))


def _plan(config_file, flags, tf_config=None):
  cfg = config_lib.load_config(config_file, 'train', flags)
  env = {} if tf_config is None else {'TF_CONFIG': json.dumps(tf_config)}
  return cl.training_plan(cfg, env)


def _error(config_file, flags, tf_config=None):
  with pytest.raises(cl.ClusterError) as info:
    _plan(config_file, flags, tf_config)
  message = str(info.value)
  assert '\n' not in message
  return message


HOSTS = ['--ps_hosts=h0:2222,h1:2222', '--worker_hosts=w0:2222,w1:2222,w2:2222']


def test_single_process_is_the_default(config_file):
  plan = _plan(config_file, [])
  assert not plan.is_distributed and plan.is_chief and not plan.is_ps
  assert plan.num_workers == 1 and plan.task_device == ''
  assert plan.device_filters == []


def test_flags_make_ps_chief_and_workers(config_file):
  chief = _plan(config_file, HOSTS + ['--job_name=worker', '--task=0',
                                      '--startup_delay_steps=5'])
  assert chief.is_distributed and chief.is_chief and not chief.is_ps
  assert chief.num_workers == 3 and chief.num_ps_tasks == 2
  assert chief.cluster.jobs['ps'] == ('h0:2222', 'h1:2222')
  assert chief.task_device == '/job:worker/task:0'
  assert chief.device_filters == ['/job:ps', '/job:worker/task:0']
  assert chief.startup_delay_steps == 0  # the chief never waits
  assert chief.own_address() == 'w0:2222'
  assert chief.chief_address() == 'w0:2222'

  worker = _plan(config_file, HOSTS + ['--job_name', 'worker', '--task', '2',
                                       '--startup_delay_steps=5'])
  assert not worker.is_chief and worker.task_index == 2
  assert worker.startup_delay_steps == 10  # DeepLab: delay x task
  assert not worker.sync_replicas and worker.replicas_to_aggregate == 3
  assert worker.describe() == 'worker task 2 (w2:2222)'

  ps = _plan(config_file, HOSTS + ['--job_name=ps', '--task=1'])
  assert ps.is_ps and not ps.is_chief and ps.own_address() == 'h1:2222'


def test_sync_replicas_aggregates_all_workers_unless_num_replicas(
    config_file):
  plan = _plan(config_file, HOSTS + ['--job_name=worker', '--task=1',
                                     '--sync_replicas'])
  assert plan.sync_replicas and plan.replicas_to_aggregate == 3
  assert plan.startup_delay_steps == 0  # no delay in synchronous mode
  plan = _plan(config_file, HOSTS + ['--job_name=worker', '--task=1',
                                     '--sync_replicas', '--num_replicas=2'])
  assert plan.replicas_to_aggregate == 2 and plan.num_workers == 3
  assert 'num_replicas=4' in _error(
      config_file, HOSTS + ['--job_name=worker', '--num_replicas=4'])


def test_tf_config_with_and_without_chief_job(config_file):
  spec = {'ps': ['p:1'], 'worker': ['a:1', 'b:1']}
  plan = _plan(config_file, [], {'cluster': spec,
                                 'task': {'type': 'worker', 'index': 1}})
  assert plan.cluster.source == 'TF_CONFIG' and not plan.is_chief
  assert plan.num_workers == 2 and plan.startup_delay_steps == 15

  spec = dict(spec, chief=['c:1'])
  chief = _plan(config_file, [], {'cluster': spec,
                                  'task': {'type': 'chief', 'index': 0}})
  assert chief.is_chief and chief.num_workers == 3
  assert chief.task_device == '/job:chief/task:0'
  worker0 = _plan(config_file, ['--startup_delay_steps=2'],
                  {'cluster': spec, 'task': {'type': 'worker', 'index': 0}})
  assert not worker0.is_chief and worker0.startup_delay_steps == 2
  assert worker0.chief_address() == 'c:1'
  # No cluster in TF_CONFIG: an ordinary single-process run.
  assert not _plan(config_file, [], {'task': {'type': 'worker'}}
                  ).is_distributed


@pytest.mark.parametrize('tf_config,words', [
    ('{"cluster": ', 'TF_CONFIG is not valid JSON'),
    ('[1, 2]', 'must be a JSON object'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1'], 'master': ['m:1']},
      'task': {'type': 'worker', 'index': 0}}, "job 'master'"),
    ({'cluster': {'worker': ['a:1']}, 'task': {'type': 'worker'}},
     'needs a "ps" job'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1']},
      'task': {'type': 'evaluator', 'index': 0}}, 'validate.py'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1']},
      'task': {'type': 'worker', 'index': 3}},
     '"task"."index"=3 is out of range: the worker job has 1 task'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1']},
      'task': {'type': 'worker', 'index': True}}, 'must be an integer'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1']}}, 'needs "task"'),
    ({'cluster': {'ps': ['p:1'], 'worker': 'a:1'},
      'task': {'type': 'worker'}}, 'must be a list'),
    ({'cluster': {'ps': ['p:1'], 'worker': ['a:1'], 'chief': ['c:1', 'd:1']},
      'task': {'type': 'chief'}}, 'exactly one host'),
    ({'cluster': {'ps': ['p'], 'worker': ['a:1']},
      'task': {'type': 'ps', 'index': 0}}, "'p' is not a host:port"),
])
def test_tf_config_errors_name_the_key(config_file, tf_config, words):
  text = tf_config if isinstance(tf_config, str) else json.dumps(tf_config)
  cfg = config_lib.load_config(config_file, 'train', [])
  with pytest.raises(cl.ClusterError) as info:
    cl.training_plan(cfg, {'TF_CONFIG': text})
  assert words in str(info.value) and '\n' not in str(info.value)


@pytest.mark.parametrize('flags,words', [
    (['--ps_hosts=p:1', '--job_name=worker'], '--worker_hosts is required'),
    (['--worker_hosts=a:1', '--job_name=worker'], '--ps_hosts is required'),
    (['--ps_hosts=p:1', '--worker_hosts=a:1'], '--job_name must be ps or '
                                               'worker'),
    (['--ps_hosts=p:1', '--worker_hosts=a:1,b:1', '--job_name=worker',
      '--task=2'], '--task=2 is out of range: the worker job has 2 task(s), '
                   'numbered 0..1'),
    (['--ps_hosts=p:1', '--worker_hosts=a:1,p:1', '--job_name=worker'],
     'p:1 is given twice (ps task 0 and worker task 1)'),
    (['--ps_hosts=p', '--worker_hosts=a:1', '--job_name=ps'],
     "--ps_hosts: 'p' is not a host:port address"),
    (['--ps_hosts=p:1', '--worker_hosts=a:99999', '--job_name=ps'],
     "--worker_hosts: 'a:99999' has no valid port"),
    (['--ps_hosts=p:1', '--worker_hosts=a:1', '--job_name=worker',
      '--num_ps_tasks=2'], "--num_ps_tasks=2 disagrees with the cluster's 1"),
    (['--ps_hosts=p:1', '--worker_hosts=a:1', '--job_name=worker',
      '--master=grpc://m:1'], 'leave --master empty'),
    (['--num_ps_tasks=1'], '--num_ps_tasks=1 needs a cluster'),
    (['--task=1'], '--task=1 needs a cluster'),
    (['--sync_replicas'], '--sync_replicas needs a cluster'),
    (['--cluster_timeout_secs=0'], '--cluster_timeout_secs must be '
                                   'a positive'),
    (['--master=nohost'], "--master: 'nohost' is not a host:port"),
])
def test_flag_errors_name_the_flag(config_file, flags, words):
  assert words in _error(config_file, flags)


def test_bad_job_name_is_a_config_error(config_file):
  with pytest.raises(config_lib.ConfigError, match='job_name must be one of '
                     'ps, worker'):
    config_lib.load_config(config_file, 'train', ['--job_name=chief'])


def test_tf_config_and_flags_together(config_file):
  tf_config = {'cluster': {'ps': ['p:1'], 'worker': ['a:1', 'b:1']},
               'task': {'type': 'worker', 'index': 1}}
  assert 'TF_CONFIG and --ps_hosts' in _error(
      config_file, ['--ps_hosts=p:1'], tf_config)
  assert '--task=2 disagrees with TF_CONFIG' in _error(
      config_file, ['--task=2'], tf_config)
  assert _plan(config_file, ['--task=1'], tf_config).task_index == 1


def test_master_joins_servers_started_elsewhere(config_file):
  plan = _plan(config_file, ['--master=m:2222', '--task=1',
                             '--num_ps_tasks=2', '--num_replicas=3',
                             '--sync_replicas'])
  assert plan.target == 'grpc://m:2222' and plan.cluster is None
  assert plan.is_distributed and not plan.is_chief
  assert plan.num_ps_tasks == 2 and plan.replicas_to_aggregate == 3
  assert plan.task_device == '/job:worker/task:1'


def test_probe_names_unreachable_hosts_after_the_timeout():
  listening = socket.socket()
  listening.bind(('127.0.0.1', 0))
  listening.listen(4)
  closed = socket.socket()
  closed.bind(('127.0.0.1', 0))  # bound, not listening: refuses
  good = '127.0.0.1:%d' % listening.getsockname()[1]
  bad = '127.0.0.1:%d' % closed.getsockname()[1]
  try:
    cl.probe_hosts([good], 1.0)
    start = time.time()
    with pytest.raises(cl.ClusterError) as info:
      cl.probe_hosts([good, bad], 0.6)
    assert 0.5 < time.time() - start < 5
  finally:
    listening.close()
    closed.close()
  message = str(info.value)
  assert message.startswith('cannot reach parameter server %s (' % bad)
  assert 'after 0.6 s' in message and good not in message


def test_probe_waits_for_a_late_server():
  sock = socket.socket()
  sock.bind(('127.0.0.1', 0))
  address = '127.0.0.1:%d' % sock.getsockname()[1]
  timer = threading.Timer(0.5, sock.listen, args=(1,))
  timer.start()
  try:
    cl.probe_hosts([address], 20, poll_secs=0.1)
  finally:
    timer.join()
    sock.close()


def test_train_py_reports_an_unreachable_parameter_server(config_file,
                                                          capsys):
  dead = socket.socket()
  dead.bind(('127.0.0.1', 0))
  ports = [dead.getsockname()[1]]
  try:
    start = time.time()
    status = cli.run_program('train.py', train_prog.main, [
        '--config_file', config_file, '--ps_hosts=127.0.0.1:%d' % ports[0],
        '--worker_hosts=127.0.0.1:1', '--job_name=worker', '--task=0',
        '--cluster_timeout_secs=1'])
    elapsed = time.time() - start
  finally:
    dead.close()
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1].startswith('train.py: error: cannot reach parameter server '
                            '127.0.0.1:%d (' % ports[0])
  assert 'after 1 s' in err[-1] and '--cluster_timeout_secs' in err[-1]
  assert elapsed < 30


def test_server_port_in_use_is_a_clear_error(config_file, capsys):
  taken = socket.socket()
  taken.bind(('', 0))
  taken.listen(1)
  port = taken.getsockname()[1]
  try:
    status = cli.run_program('train.py', train_prog.main, [
        '--config_file', config_file, '--ps_hosts=127.0.0.1:%d' % port,
        '--worker_hosts=127.0.0.1:1', '--job_name=ps'])
  finally:
    taken.close()
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1] == ('train.py: error: cannot start the server of ps task 0 '
                     '(127.0.0.1:%d): port %d is already in use on this '
                     'machine' % (port, port))


def test_device_scope_puts_variables_on_ps_cpus(config_file, fresh_graph):
  plan = _plan(config_file, HOSTS + ['--job_name=worker', '--task=1'])
  with dt.device_scope(plan):
    with tf.device('/device:GPU:0'):  # a tower on a GPU
      a = tf.get_variable('a', [2])
      b = tf.get_variable('b', [2])
      out = tf.reduce_sum(a * b)
    with tf.device('/device:CPU:0'):
      pipeline = tf.constant(1.0) + 1.0
    step = tf.train.get_or_create_global_step()
  assert a.op.device == '/job:ps/task:0/device:CPU:0'
  assert b.op.device == '/job:ps/task:1/device:CPU:0'  # round robin
  assert step.op.device.startswith('/job:ps/task:')
  assert out.op.device == '/job:worker/task:1/device:GPU:0'
  assert pipeline.op.device == '/job:worker/task:1/device:CPU:0'

  local = _plan(config_file, [])
  with dt.device_scope(local):
    c = tf.get_variable('c', [1])
  assert c.op.device == ''
  base = tf.ConfigProto(allow_soft_placement=True)
  config = dt.session_config(plan, base)
  assert list(config.device_filters) == ['/job:ps', '/job:worker/task:1']
  assert config.allow_soft_placement and not base.device_filters


@pytest.fixture(scope='module')
def local_server():
  """One in-process server (TF 1.15 cannot stop it: it lives until the
  test process ends)."""
  return tf.train.Server.create_local_server()


def test_wait_for_chief_times_out_then_sees_initialisation(config_file,
                                                           local_server,
                                                           capsys):
  plan = _plan(config_file, []) ._replace(target=local_server.target,
                                          timeout_secs=0.5)
  with tf.Graph().as_default():
    var = tf.get_variable('shared_var', [3])
    ready = tf.report_uninitialized_variables(tf.global_variables())
    config = tf.ConfigProto()
    with pytest.raises(cl.ClusterError) as info:
      dt.wait_for_chief(plan, ready, config, poll_secs=0.05)
    assert 'the chief (worker task 0) has not initialised the model after '\
        '0.5 s (1 variables still uninitialised, e.g. shared_var)' in str(
            info.value)
    assert 'waiting for the chief' in capsys.readouterr().out
    with tf.Session(local_server.target) as sess:  # "the chief"
      sess.run(var.initializer)
    dt.wait_for_chief(plan._replace(timeout_secs=5), ready, config)


def test_startup_delay_hook_waits_for_the_global_step(capsys):
  class FakeSession(object):
    def __init__(self):
      self.calls = 0

    def run(self, unused_fetch):
      self.calls += 1
      return self.calls  # the step moves on as other workers train

  class Coord(object):
    def should_stop(self):
      return False

  sess = FakeSession()
  dt.StartupDelayHook('step', 4, poll_secs=0).after_create_session(
      sess, Coord())
  assert sess.calls == 4
  assert 'Waiting for global step 4' in capsys.readouterr().out
  sess = FakeSession()
  dt.StartupDelayHook('step', 0).after_create_session(sess, Coord())
  assert sess.calls == 0


def test_distributed_loop_stops_at_the_step_and_logs(fresh_graph, capsys):
  ops = h.toy_train_ops()
  hooks = [tf.train.StopAtStepHook(last_step=5)]
  with tf.train.MonitoredSession(hooks=hooks) as sess:
    assert distributed_train.distributed_train_loop(sess, ops, 5, 2) == 5
  lines = capsys.readouterr().out.splitlines()
  assert [l.split(':')[0] for l in lines] == ['step 2', 'step 4', 'step 5']
  assert lines[0].startswith('step 2: loss = 1.0000 (')


def test_distributed_loop_nan_and_signal(fresh_graph):
  ops = h.toy_train_ops(nan_from_step=3)
  with pytest.raises(loss_guard.TrainingDivergedError,
                     match='loss is nan at step 3'):
    with tf.train.MonitoredSession(
        hooks=[tf.train.StopAtStepHook(last_step=10)]) as sess:
      distributed_train.distributed_train_loop(sess, ops, 10, 0)

  class Stop(object):
    signum = 15

  with tf.train.MonitoredSession() as sess:
    assert distributed_train.distributed_train_loop(
        sess, ops, 10, 1, Stop()) == 0
    # A run already at its last step (resumed) trains no further.
    assert distributed_train.distributed_train_loop(sess, ops, 0, 1) == 0
    assert sess.run_step_fn(
        lambda step_context: step_context.session.run(ops.global_step)) == 0


def test_runner_rejects_bad_arguments(tmp_path):
  import subprocess
  runner = os.path.join(h.REPO_ROOT, 'runners', 'train_distributed.sh')

  def run(args, **env):
    return subprocess.run(['bash', runner] + args, cwd=str(tmp_path),
                          env=dict(os.environ, **env), timeout=120,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)

  proc = run([])
  assert proc.returncode == 2 and 'usage: train_distributed.sh CONFIG' in \
      proc.stderr
  proc = run(['nowhere.ini'])
  assert proc.returncode == 2 and 'config file nowhere.ini not found' in \
      proc.stderr
  config = 'config/ADE20K/liMnv2_liAspp.ini'
  proc = run([config], NUM_WORKERS='two')
  assert proc.returncode == 2 and "NUM_WORKERS must be a positive integer, " \
      "got 'two'" in proc.stderr
  proc = run([config], BASE_PORT='65535')
  assert proc.returncode == 2 and "BASE_PORT must be a port with 3 ports " \
      "from it, got '65535'" in proc.stderr
  proc = run([config, '--job_name=ps'])
  assert proc.returncode == 2 and '--job_name is set by this script' in \
      proc.stderr
  proc = run([config, '--dataset_dir=%s' % (tmp_path / 'none')])
  assert proc.returncode == 2 and 'dataset folder' in proc.stderr
