"""TensorFlow 1.15's distributed runtime, as train.py uses it.

The plan (``li_programs.distributed.cluster.TrainingPlan``) says who this
process is; the functions here start its ``tf.train.Server``, place the
graph (variables on the parameter servers, everything else on this worker),
wait for the chief to initialise the variables, and provide the session-run
hooks of the startup delay and of synchronous training.
"""

import contextlib
import errno
import socket
import sys
import time

import tensorflow.compat.v1 as tf

from li_programs.distributed import cluster as cluster_lib
from li_programs.distributed.cluster import ClusterError

# Interval of the readiness / startup-delay polls.  TensorFlow's own
# session manager re-checks every 30 s, which makes small runs crawl.
POLL_SECS = 0.5


def cluster_spec(plan):
  return tf.train.ClusterSpec(
      {job: list(hosts) for job, hosts in plan.cluster.jobs.items()})


def _check_port_free(address, what):
  """Fails with a clear message if nobody can bind the port of ``address``
  (gRPC only prints a long C-level log line in that case)."""
  port = int(address.rpartition(':')[2])
  probe = socket.socket(socket.AF_INET6 if address.startswith('[')
                        else socket.AF_INET, socket.SOCK_STREAM)
  probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  try:
    probe.bind(('', port))
  except OSError as err:
    if err.errno == errno.EADDRINUSE:
      raise ClusterError('cannot start the server of %s: port %d is already '
                         'in use on this machine' % (what, port)) from err
  finally:
    probe.close()


def start_server(plan, config=None):
  """Starts this task's gRPC server; returns the tf.train.Server.

  Raises:
    ClusterError: the port is taken or the server cannot start.
  """
  what = plan.describe()
  _check_port_free(plan.own_address(), what)
  try:
    return tf.train.Server(cluster_spec(plan), job_name=plan.job_name,
                           task_index=plan.task_index, config=config,
                           start=True)
  except tf.errors.OpError as err:
    raise ClusterError('cannot start the server of %s: %s' % (
        what, (err.message or str(err)).splitlines()[0])) from err


def probe_parameter_servers(plan):
  """Waits (up to plan.timeout_secs) for every parameter server to answer."""
  hosts = plan.ps_hosts()
  if hosts:
    cluster_lib.probe_hosts(hosts, plan.timeout_secs, 'parameter server')
  elif plan.cluster is None and plan.target:
    cluster_lib.probe_hosts([plan.target.split('://', 1)[-1]],
                            plan.timeout_secs, 'master')


def device_scope(plan):
  """Context placing the graph built inside it.

  Variables (and the other ops ``replica_device_setter`` keeps on parameter
  servers) go round-robin to the parameter servers' CPUs, even when a tower
  asks for a GPU; every other op runs on this worker, keeping the tower's
  own device (GPU i or CPU).  A no-op for single-process runs.
  """
  if not plan.is_distributed or (plan.cluster is None and
                                 not plan.num_ps_tasks):
    return contextlib.nullcontext()
  if plan.cluster is not None:
    setter = tf.train.replica_device_setter(
        cluster=cluster_spec(plan), worker_device=plan.task_device)
  else:
    setter = tf.train.replica_device_setter(
        ps_tasks=plan.num_ps_tasks, worker_device=plan.task_device)

  def place(op):
    spec = tf.DeviceSpec.from_string(setter(op))
    if spec.job == cluster_lib.PS:
      spec = spec.replace(device_type='CPU', device_index=0)
    return spec.to_string()

  return tf.device(place)


def session_config(plan, base_config):
  """``base_config`` plus device filters: a worker talks to the parameter
  servers and itself only, never waiting for other workers."""
  config = tf.ConfigProto()
  config.CopyFrom(base_config)
  del config.device_filters[:]
  config.device_filters.extend(plan.device_filters)
  return config


def wait_for_chief(plan, ready_op, config, poll_secs=POLL_SECS, clock=None):
  """Blocks a non-chief worker until the chief has initialised (or
  restored) every variable ``ready_op`` reports.

  Raises:
    ClusterError: still uninitialised after plan.timeout_secs.
  """
  clock = clock or time.time
  deadline = clock() + plan.timeout_secs
  announced = False
  with tf.Session(plan.target, config=config) as sess:
    while True:
      missing = sess.run(ready_op)
      if not len(missing):
        return
      if clock() >= deadline:
        raise ClusterError(
            '%s: the chief (%s) has not initialised the model after %g s '
            '(%d variables still uninitialised, e.g. %s); is it running? '
            '(wait longer with --cluster_timeout_secs)' % (
                plan.describe(), plan.chief_address() or 'worker task 0',
                plan.timeout_secs, len(missing),
                missing[0].decode('utf-8', 'replace')))
      if not announced:
        print('%s: waiting for the chief to initialise the model'
              % plan.describe())
        sys.stdout.flush()
        announced = True
      time.sleep(poll_secs)


class StartupDelayHook(tf.train.SessionRunHook):
  """Holds a worker back until the global step reaches ``until_step``
  (DeepLab's ``startup_delay_steps`` x task), so that asynchronous workers
  join a model the chief has already moved away from its initial state."""

  def __init__(self, global_step, until_step, poll_secs=POLL_SECS):
    self._global_step = global_step
    self._until_step = until_step
    self._poll_secs = poll_secs

  def after_create_session(self, session, coord):
    if self._until_step <= 0:
      return
    step = int(session.run(self._global_step))
    if step < self._until_step:
      print('Waiting for global step %d before training (startup delay)'
            % self._until_step)
      sys.stdout.flush()
    while step < self._until_step and not coord.should_stop():
      time.sleep(self._poll_secs)
      step = int(session.run(self._global_step))


class SyncReplicasHook(tf.train.SessionRunHook):
  """Runs a SyncReplicasOptimizer (instead of its own hook).

  Like TensorFlow's hook it initialises the replica's local step and, on
  the chief, fills the token queue and starts the thread that applies the
  aggregated gradients.  Two differences make runs end cleanly:

  * A worker that stops (it saw the final global step) puts one token per
    worker in the queue.  A faster worker may have taken the tokens of the
    last update meant for a slower one, which would otherwise wait forever
    for an update nobody contributes to; woken up, it sees the final step
    and stops too.
  * The chief's aggregation thread, still waiting for gradients nobody
    will send, ends quietly when the session closes (TensorFlow's prints a
    CancelledError traceback).
  """

  def __init__(self, sync_optimizer, is_chief, num_workers):
    self._optimizer = sync_optimizer
    self._is_chief = is_chief
    self._num_workers = num_workers

  def begin(self):
    opt = self._optimizer
    self._ready_op = opt.ready_for_local_init_op
    if self._is_chief:
      self._local_init_op = opt.chief_init_op
      runner = opt.get_chief_queue_runner()
      self._runner = tf.train.QueueRunner(
          runner.queue, runner.enqueue_ops,
          queue_closed_exception_types=(tf.errors.OutOfRangeError,
                                        tf.errors.CancelledError))
      self._init_tokens_op = opt.get_init_tokens_op()
    else:
      self._local_init_op = opt.local_step_init_op
      self._runner = self._init_tokens_op = None
    self._release_op = opt.get_init_tokens_op(num_tokens=self._num_workers)

  def after_create_session(self, session, coord):
    missing = session.run(self._ready_op)
    if len(missing):
      raise ClusterError('synchronous training cannot start: %d variables '
                         'are not initialised (e.g. %s)' % (
                             len(missing),
                             missing[0].decode('utf-8', 'replace')))
    session.run(self._local_init_op)
    if self._init_tokens_op is not None:
      session.run(self._init_tokens_op)
    if self._runner is not None:
      self._runner.create_threads(session, coord=coord, daemon=True,
                                  start=True)

  def end(self, session):
    session.run(self._release_op)


class FinalSummaryHook(tf.train.SessionRunHook):
  """The chief's summaries once more when its session ends, at the global
  step reached, so every run (a short one too) ends with its scalars."""

  def __init__(self, summary_op, output_dir, global_step):
    self._summary_op = summary_op
    self._output_dir = output_dir
    self._global_step = global_step

  def end(self, session):
    summary, step = session.run([self._summary_op, self._global_step])
    writer = tf.summary.FileWriterCache.get(self._output_dir)
    writer.add_summary(summary, step)
    writer.flush()
