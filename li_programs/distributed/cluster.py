"""Who is who in a distributed training run, checked before anything starts.

A training cluster is described either by the standard ``TF_CONFIG``
environment variable (JSON)::

    {"cluster": {"ps": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]},
     "task": {"type": "worker", "index": 0}}

or by the flags ``--ps_hosts``, ``--worker_hosts``, ``--job_name`` and
``--task`` (DeepLab's names).  Worker task 0 is the chief, unless TF_CONFIG
has a ``chief`` job, whose single task is then the chief and counts as one
more worker.  Without either, ``--master`` (plus ``--task``,
``--num_ps_tasks``, ``--num_replicas``) points at servers started elsewhere;
with none of these the run is an ordinary single process.

``training_plan`` turns the options into a ``TrainingPlan`` and reports any
inconsistency as a one-line ``ClusterError`` naming the flag or key;
``probe_hosts`` waits for the given host:port addresses to accept TCP
connections and names the ones that never did.
"""

import collections
import json
import os
import socket
import time

PS = 'ps'
WORKER = 'worker'
CHIEF = 'chief'
EVALUATOR = 'evaluator'
_CLUSTER_FLAGS = ('ps_hosts', 'worker_hosts', 'job_name')


class ClusterError(ValueError):
  """An unusable cluster description or an unreachable host (one line)."""


Cluster = collections.namedtuple(
    'Cluster', ['jobs', 'job_name', 'task_index', 'source'])
Cluster.__doc__ = """A parsed cluster.

  jobs: OrderedDict job name -> tuple of 'host:port' (task i = entry i).
  job_name, task_index: this process's task.
  source: 'TF_CONFIG' or 'flags' (for messages).
"""


class TrainingPlan(collections.namedtuple('TrainingPlan', [
    'cluster', 'target', 'job_name', 'task_index', 'is_chief', 'num_workers',
    'num_ps_tasks', 'sync_replicas', 'replicas_to_aggregate',
    'startup_delay_steps', 'timeout_secs'])):
  """How this process takes part in training.

  Attributes:
    cluster: Cluster, or None (single process or ``--master``).
    target: session target ('' local; the master's grpc address otherwise;
      filled in from the started server in cluster mode).
    job_name, task_index: this process's task ('worker' / 'chief' / 'ps').
    is_chief: initialises, restores, checkpoints and writes summaries.
    num_workers: worker replicas (the chief included).
    num_ps_tasks: parameter servers (0: variables stay with the worker).
    sync_replicas: synchronous updates (SyncReplicasOptimizer).
    replicas_to_aggregate: gradients averaged per synchronous update.
    startup_delay_steps: global steps this task waits before training
      (non-chief workers in asynchronous mode only).
    timeout_secs: how long to wait for parameter servers and the chief.
  """

  @property
  def is_distributed(self):
    return self.cluster is not None or bool(self.target)

  @property
  def is_ps(self):
    return self.job_name == PS

  @property
  def task_device(self):
    """'/job:<job>/task:<i>' of this process ('' for a plain local run)."""
    if not self.is_distributed:
      return ''
    return '/job:%s/task:%d' % (self.job_name, self.task_index)

  @property
  def device_filters(self):
    """Devices this worker's sessions may see: the parameter servers and
    itself, so a worker never waits for the other workers."""
    if self.cluster is None:
      return []
    return ['/job:%s' % PS, self.task_device]

  def ps_hosts(self):
    if self.cluster is None:
      return ()
    return self.cluster.jobs.get(PS, ())

  def own_address(self):
    if self.cluster is None:
      return None
    return self.cluster.jobs[self.job_name][self.task_index]

  def chief_address(self):
    if self.cluster is None:
      return None
    jobs = self.cluster.jobs
    return jobs[CHIEF][0] if CHIEF in jobs else jobs[WORKER][0]

  def describe(self):
    """'worker task 1 of 2 (127.0.0.1:2223)' and the like."""
    if not self.is_distributed:
      return 'single process'
    where = self.own_address() or self.target
    return '%s task %d (%s)' % (self.job_name, self.task_index, where)


def parse_address(text, where):
  """Checks one 'host:port' (IPv6 as '[::1]:port'); returns it stripped."""
  address = str(text).strip()
  host, sep, port = address.rpartition(':')
  if address.startswith('['):
    ok_host = host.startswith('[') and host.endswith(']') and len(host) > 2
  else:
    ok_host = bool(host) and ':' not in host and not any(
        c.isspace() for c in host)
  if not sep or not ok_host or '/' in address:
    raise ClusterError('%s: %r is not a host:port address (e.g. '
                       'localhost:2222)' % (where, address))
  if not port.isdigit() or not 0 < int(port) < 65536:
    raise ClusterError('%s: %r has no valid port (1..65535)' % (
        where, address))
  return address


def parse_hosts(value, where):
  """A comma-separated string or a list of 'host:port' -> tuple."""
  if value is None:
    return ()
  items = value.split(',') if isinstance(value, str) else list(value)
  items = [i for i in (str(i).strip() for i in items) if i]
  return tuple(parse_address(i, where) for i in items)


def _split_host_port(address):
  host, _, port = address.rpartition(':')
  return host.strip('[]'), int(port)


def _check_unique(jobs, where):
  seen = {}
  for job, hosts in jobs.items():
    for index, address in enumerate(hosts):
      if address in seen:
        raise ClusterError('%s: %s is given twice (%s task %d and %s task %d)'
                           % (where, address, seen[address][0],
                              seen[address][1], job, index))
      seen[address] = (job, index)


def _check_task(jobs, job_name, task_index, where_job, where_task):
  if job_name not in jobs:
    raise ClusterError('%s is %r but the cluster has no %s job (jobs: %s)' % (
        where_job, job_name, job_name, ', '.join(jobs)))
  count = len(jobs[job_name])
  if not 0 <= task_index < count:
    raise ClusterError('%s=%d is out of range: the %s job has %d task(s), '
                       'numbered 0..%d' % (where_task, task_index, job_name,
                                           count, count - 1))


def cluster_from_flags(ps_hosts=None, worker_hosts=None, job_name=None,
                       task=0):
  """Cluster from DeepLab-style flags, or None when none of them is set."""
  if not ps_hosts and not worker_hosts and not job_name:
    return None
  if not worker_hosts:
    raise ClusterError('--worker_hosts is required with --ps_hosts / '
                       '--job_name (comma-separated host:port of every '
                       'worker; the first is the chief)')
  if not ps_hosts:
    raise ClusterError('--ps_hosts is required with --worker_hosts: a '
                       'cluster needs at least one parameter server '
                       '(comma-separated host:port)')
  if job_name not in (PS, WORKER):
    raise ClusterError('--job_name must be ps or worker with --ps_hosts / '
                       '--worker_hosts, got %r' % (job_name,))
  jobs = collections.OrderedDict([
      (PS, parse_hosts(ps_hosts, '--ps_hosts')),
      (WORKER, parse_hosts(worker_hosts, '--worker_hosts'))])
  _check_unique(jobs, '--ps_hosts/--worker_hosts')
  _check_task(jobs, job_name, task, '--job_name', '--task')
  return Cluster(jobs, job_name, task, 'flags')


def cluster_from_tf_config(text):
  """Cluster from the JSON text of TF_CONFIG, or None without a cluster."""
  if text is None or not text.strip():
    return None
  try:
    data = json.loads(text)
  except ValueError as err:
    raise ClusterError('TF_CONFIG is not valid JSON: %s' % err) from err
  if not isinstance(data, dict):
    raise ClusterError('TF_CONFIG must be a JSON object with "cluster" and '
                       '"task", got %s' % type(data).__name__)
  spec = data.get('cluster') or {}
  if not isinstance(spec, dict):
    raise ClusterError('TF_CONFIG "cluster" must map job names to lists of '
                       'host:port')
  if not spec:
    return None
  allowed = (CHIEF, WORKER, PS)
  for job in spec:
    if job not in allowed:
      raise ClusterError('TF_CONFIG "cluster" has job %r; train.py runs the '
                         'jobs %s' % (job, ', '.join(allowed)))
  jobs = collections.OrderedDict()
  for job in allowed[::-1]:
    hosts = spec.get(job)
    if hosts is None:
      continue
    if not isinstance(hosts, list):
      raise ClusterError('TF_CONFIG "cluster"."%s" must be a list of '
                         'host:port' % job)
    jobs[job] = parse_hosts(hosts, 'TF_CONFIG "cluster"."%s"' % job)
  if not jobs.get(PS):
    raise ClusterError('TF_CONFIG "cluster" needs a "ps" job: train.py keeps '
                       'the variables on parameter servers')
  if not jobs.get(WORKER) and not jobs.get(CHIEF):
    raise ClusterError('TF_CONFIG "cluster" needs a "worker" (or "chief") '
                       'job')
  if CHIEF in jobs and len(jobs[CHIEF]) != 1:
    raise ClusterError('TF_CONFIG "cluster"."chief" must list exactly one '
                       'host, got %d' % len(jobs[CHIEF]))
  _check_unique(jobs, 'TF_CONFIG "cluster"')
  task = data.get('task')
  if not isinstance(task, dict) or 'type' not in task:
    raise ClusterError('TF_CONFIG needs "task": {"type": "worker" or "ps" '
                       'or "chief", "index": N}')
  job_name, index = task['type'], task.get('index', 0)
  if job_name == EVALUATOR:
    raise ClusterError('TF_CONFIG "task" type "evaluator" does not train; '
                       'run validate.py on the chief\'s train folder instead')
  if isinstance(index, bool) or not isinstance(index, int):
    raise ClusterError('TF_CONFIG "task"."index" must be an integer, got %r'
                       % (index,))
  _check_task(jobs, job_name, index, 'TF_CONFIG "task"."type"',
              'TF_CONFIG "task"."index"')
  return Cluster(jobs, job_name, index, 'TF_CONFIG')


def resolve_cluster(cfg, environ=None):
  """The cluster of this run from TF_CONFIG or the flags (not both)."""
  environ = os.environ if environ is None else environ
  from_env = cluster_from_tf_config(environ.get('TF_CONFIG'))
  if from_env is None:
    return cluster_from_flags(cfg.ps_hosts, cfg.worker_hosts, cfg.job_name,
                              cfg.task)
  given = [name for name in _CLUSTER_FLAGS if getattr(cfg, name)]
  if given:
    raise ClusterError('the cluster is given twice: TF_CONFIG and --%s; '
                       'use one of them (unset TF_CONFIG to use the flags)'
                       % ', --'.join(given))
  if cfg.task and cfg.task != from_env.task_index:
    raise ClusterError('--task=%d disagrees with TF_CONFIG "task"."index"=%d'
                       % (cfg.task, from_env.task_index))
  return from_env


def _strip_scheme(target):
  return target.split('://', 1)[1] if '://' in target else target


def training_plan(cfg, environ=None):
  """Checks the distributed options of a train config; returns the plan.

  Args:
    cfg: loaded train config (ps_hosts, worker_hosts, job_name, task, master,
      num_ps_tasks, num_replicas, sync_replicas, startup_delay_steps,
      cluster_timeout_secs).
    environ: mapping holding TF_CONFIG (default os.environ).

  Raises:
    ClusterError: naming the flag or TF_CONFIG key at fault.
  """
  timeout = cfg.cluster_timeout_secs
  if timeout is None or timeout <= 0:
    raise ClusterError('--cluster_timeout_secs must be a positive number of '
                       'seconds, got %r' % (timeout,))
  if cfg.num_ps_tasks < 0:
    raise ClusterError('--num_ps_tasks must be >= 0, got %d'
                       % cfg.num_ps_tasks)
  if cfg.num_replicas < 1:
    raise ClusterError('--num_replicas must be >= 1, got %d'
                       % cfg.num_replicas)
  if cfg.task < 0:
    raise ClusterError('--task must be >= 0, got %d' % cfg.task)
  if cfg.startup_delay_steps < 0:
    raise ClusterError('--startup_delay_steps must be >= 0, got %d'
                       % cfg.startup_delay_steps)
  cluster = resolve_cluster(cfg, environ)
  master = (cfg.master or '').strip()

  if cluster is not None:
    if master:
      raise ClusterError('--master=%s is for servers started elsewhere; with '
                         'a cluster from %s train.py starts its own server, '
                         'leave --master empty' % (master, cluster.source))
    jobs = cluster.jobs
    num_ps = len(jobs[PS])
    if cfg.num_ps_tasks and cfg.num_ps_tasks != num_ps:
      raise ClusterError('--num_ps_tasks=%d disagrees with the cluster\'s %d '
                         'parameter server(s); leave it 0' % (
                             cfg.num_ps_tasks, num_ps))
    num_workers = len(jobs.get(WORKER, ())) + len(jobs.get(CHIEF, ()))
    job_name, index = cluster.job_name, cluster.task_index
    if CHIEF in jobs:
      is_chief = job_name == CHIEF
    else:
      is_chief = job_name == WORKER and index == 0
    # Position of this worker among all workers (chief first): sets its
    # startup delay.
    rank = index + (1 if CHIEF in jobs and job_name == WORKER else 0)
  else:
    if not master:
      if cfg.num_ps_tasks:
        raise ClusterError('--num_ps_tasks=%d needs a cluster: give '
                           '--ps_hosts/--worker_hosts/--job_name/--task, '
                           'TF_CONFIG or --master' % cfg.num_ps_tasks)
      if cfg.task:
        raise ClusterError('--task=%d needs a cluster: give --ps_hosts/'
                           '--worker_hosts/--job_name, TF_CONFIG or --master'
                           % cfg.task)
      if cfg.sync_replicas:
        raise ClusterError('--sync_replicas needs a cluster of workers: give '
                           '--ps_hosts/--worker_hosts/--job_name/--task or '
                           'TF_CONFIG')
      return TrainingPlan(None, '', WORKER, 0, True, 1, 0, False, 1, 0,
                          timeout)
    address = _strip_scheme(master)
    parse_address(address, '--master')
    num_ps = cfg.num_ps_tasks
    num_workers = cfg.num_replicas
    job_name, index = WORKER, cfg.task
    if index >= num_workers and cfg.sync_replicas:
      raise ClusterError('--task=%d is out of range for --num_replicas=%d'
                         % (index, num_workers))
    is_chief = index == 0
    rank = index
    master = master if '://' in master else 'grpc://' + master

  if cfg.num_replicas > 1 and cfg.num_replicas > num_workers:
    raise ClusterError('--num_replicas=%d is more than the %d worker(s) of '
                       'the cluster; synchronous steps would never complete'
                       % (cfg.num_replicas, num_workers))
  # num_replicas keeps its default of 1 unless set: then every worker
  # contributes to each synchronous step.
  aggregate = cfg.num_replicas if cfg.num_replicas > 1 else num_workers
  delay = 0
  if not cfg.sync_replicas and not is_chief and job_name != PS:
    delay = cfg.startup_delay_steps * rank
  return TrainingPlan(cluster, master, job_name, index, is_chief, num_workers,
                      num_ps, bool(cfg.sync_replicas), aggregate, delay,
                      timeout)


def probe_hosts(addresses, timeout_secs, what='parameter server',
                hint='--cluster_timeout_secs', poll_secs=0.25, clock=None):
  """Waits until every 'host:port' accepts a TCP connection.

  Raises:
    ClusterError: naming the addresses still unreachable after
      ``timeout_secs`` and the last error seen for each.
  """
  clock = clock or time.time
  deadline = clock() + timeout_secs
  pending = collections.OrderedDict((a, 'no answer') for a in addresses)
  while True:
    for address in list(pending):
      host, port = _split_host_port(address)
      try:
        conn = socket.create_connection(
            (host, port), timeout=max(0.1, min(2.0, deadline - clock())))
        conn.close()
        del pending[address]
      except (OSError, socket.timeout) as err:
        reason = getattr(err, 'strerror', None) or str(err) or 'timed out'
        pending[address] = reason.lower()
    if not pending or clock() >= deadline:
      break
    time.sleep(poll_secs)
  if pending:
    plural = 's' if len(pending) > 1 else ''
    raise ClusterError('cannot reach %s%s %s after %g s; are they running '
                       'and are host and port right? (wait longer with %s)'
                       % (what, plural, ', '.join(
                           '%s (%s)' % item for item in pending.items()),
                          timeout_secs, hint))
