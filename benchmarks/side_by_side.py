"""Benchmark workers, and builds timed side by side (the driver's side).

Every measurement is a fresh worker process (``benchmarks.worker``).  In a
round, a figure's workers of two builds are open at once and take turns run
by run (``run_side_by_side``), so that slow phases of a shared machine hit
both alike.  ``measure_floor`` runs ``benchmarks.floor``: the memory a build
takes before any model (importing TensorFlow, opening a session).
"""
import json
import os
import re
import statistics
import subprocess
import time

from benchmarks import figures as figs
from benchmarks import timing
from libs.core import op_graphs

REPO_ROOT = figs.REPO_ROOT
# runs key of the interleaved LI / baseline workers (see measure).
LI_PAIR = 'li_pair'


def failure_line(stderr):
  """The line of a worker's stderr that names its exception (the last
  line after a traceback), else its last line."""
  lines = [l.strip() for l in stderr.strip().splitlines() if l.strip()]
  named = [l for l in lines
           if re.match(r'^[A-Za-z_][\w.]*(Error|Exception|Exit)\b', l)]
  return (named or lines or ['(no output)'])[-1]


class Worker(object):
  """One worker process (``benchmarks.worker``) timing one figure.

  ``paired_with``: a second figure the worker times interleaved with
  ``figure`` (``workloads.run_pair``).  ``serve``: the worker times
  one run whenever ``run_one`` asks (``--serve``), so that workers of two
  builds can take turns (``run_side_by_side``).  Its stderr goes to a log
  file in ``work_dir``, whose last line explains a failure.
  """

  def __init__(self, python, figure, settings, dataset_dir, work_dir, tag,
               trace=False, op_graph=op_graphs.FAST, paired_with=None,
               serve=False, crop=None, batch=None, flags=(), engine=None):
    mode = figs.FIGURES[figure][0]
    crop = crop or (settings['train_crop'] if mode == 'train' else
                    settings['test_crop'])
    batch = batch or (settings['batch'] if mode == 'train' else None)
    self.out = os.path.join(work_dir, '%s__%s.json' % (figure, tag))
    self.label = '%s under %s' % (figure, python)
    cmd = [python, '-m', 'benchmarks.worker', '--figure', figure,
           '--dataset_dir', dataset_dir, '--out', self.out,
           '--checkpoint', os.path.join(work_dir, figure + '.ckpt'),
           '--warmup', str(settings['warmup']),
           '--repeats', str(settings['repeats']), '--op_graph', op_graph]
    if crop:
      cmd += ['--crop', str(crop)]
    if trace:
      cmd.append('--trace')
    if paired_with:
      cmd += ['--paired_with', paired_with, '--paired_checkpoint',
              os.path.join(work_dir, paired_with + '.ckpt')]
    if batch:
      cmd += ['--batch', str(batch)]
    cmd += ['--flag=%s' % flag for flag in flags]
    if engine:
      cmd += ['--inference_engine', engine]
    if serve:
      cmd.append('--serve')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    self._log_path = self.out[:-len('.json')] + '.log'
    self._log = open(self._log_path, 'w')
    self._start = time.time()
    pipe = subprocess.PIPE if serve else subprocess.DEVNULL
    self._proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=pipe,
                                  stdout=pipe, stderr=self._log,
                                  universal_newlines=True)

  def _fail(self, why=None):
    """Kills the worker; raises why, or else the exception it printed on
    stderr (its last line when there is none)."""
    self.kill()
    if why is None:
      with open(self._log_path) as f:
        why = failure_line(f.read())
    raise timing.BenchmarkError('worker %s failed: %s' % (self.label, why))

  def _expect(self, reply):
    line = self._proc.stdout.readline()
    if not line:  # its output ended: it is exiting, let it finish
      self._proc.wait()
      self._fail()
    if line.strip() != reply:  # kill it rather than wait on it
      self._fail('it answered %r, not %r' % (line.strip()[:80], reply))

  def wait_ready(self):
    """Blocks until the served worker has built and warmed up its figure."""
    self._expect('ready')

  def run_one(self):
    """One timed run of the served worker; returns when it has finished."""
    try:
      self._proc.stdin.write('run\n')
      self._proc.stdin.flush()
    except OSError:  # a broken pipe: it has died, say why
      self._proc.wait()
      self._fail()
    self._expect('done')

  def finish(self):
    """Ends the timing and waits for the worker; returns its result dict."""
    if self._proc.stdin:
      self._proc.stdin.close()
    if self._proc.wait() != 0:
      self._fail()
    self._log.close()
    with open(self.out) as f:
      result = json.load(f)
    result['process_wall_s'] = round(time.time() - self._start, 1)
    result['loadavg_after'] = timing.loadavg()
    return result

  def kill(self):
    if self._proc.poll() is None:
      self._proc.kill()
      self._proc.wait()
    self._log.close()


def run_worker(*args, **kwargs):
  """One worker process, run to its end; returns its result dict."""
  return Worker(*args, **kwargs).finish()


def run_side_by_side(specs, repeats):
  """Times one figure under several builds, run by run in turn.

  ``specs``: ``[Worker keyword arguments]``, one per build.  The workers
  start one after the other (the first may write the figure's shared
  checkpoint), each warms up and waits; then they take ``repeats`` turns,
  one timed run each, the order flipping every turn, so that the machine's
  drift slows every build alike (timed back to back instead, the times
  moved from round to round by more than the builds differ:
  docs/performance.md).  The other workers sit blocked on their pipe
  meanwhile.

  Returns:
    the workers' result dicts, in the order of ``specs``.
  """
  workers = []
  try:
    for spec in specs:
      workers.append(Worker(serve=True, **spec))
      workers[-1].wait_ready()
    order = list(workers)
    for _ in range(repeats):
      for worker in order:
        worker.run_one()
      order.reverse()
    return [worker.finish() for worker in workers]
  finally:
    for worker in workers:
      worker.kill()


def measure(settings, backends, dataset_dir, work_dir):
  """Runs every figure under every backend ``rounds`` times.

  ``backends``: ``[(name, python, op_graph)]``, the reference first.  In
  each round a figure's builds run side by side (``run_side_by_side``; who
  starts flips every round).  LI baselines run under the default (last)
  backend only.

  Returns:
    ``{(figure, backend name): [worker results]}``, and for LI figures
    ``{(figure, LI_PAIR): [run_pair results]}``: the figure and its
    baseline timed interleaved in one worker of the default build.
  """
  runs = {}
  default = backends[-1]
  last = settings['rounds'] - 1
  prepare_weights(settings, default, dataset_dir, work_dir)
  for rnd in range(settings['rounds']):
    order = backends if rnd % 2 == 0 else backends[::-1]
    for figure in settings['figures']:
      timing.log('round %d/%d: %s under %s, side by side' % (
          rnd + 1, settings['rounds'], figure,
          ' and '.join(name for name, _, _ in order)))
      # The last round of the default build also profiles the ops.
      specs = [dict(python=python, figure=figure, settings=settings,
                    dataset_dir=dataset_dir, work_dir=work_dir,
                    tag='%s_%d' % (name, rnd), op_graph=op_graph,
                    trace=(rnd == last and name == default[0]))
               for name, python, op_graph in order]
      results = run_side_by_side(specs, settings['repeats'])
      for (name, _, _), result in zip(order, results):
        runs.setdefault((figure, name), []).append(result)
      baseline = figs.LI_BASELINES.get(figure)
      if baseline:  # the LI figure and its baseline in one worker
        timing.log('round %d/%d: %s and %s, interleaved under %s' % (
            rnd + 1, settings['rounds'], figure, baseline, default[0]))
        runs.setdefault((figure, LI_PAIR), []).append(run_worker(
            default[1], figure, settings, dataset_dir, work_dir,
            '%s_%d_pair' % (default[0], rnd), op_graph=default[2],
            paired_with=baseline))
  return runs


def prepare_weights(settings, build, dataset_dir, work_dir, crop=None,
                    batch=None, baselines=True):
  """Writes the shared weights of every figure (and baseline) of
  ``settings`` with one unmeasured worker each of ``build`` (``(name,
  python, op_graph)``), so that every measured worker restores them: the
  first to need them would otherwise create them, with a session graph
  that no other worker holds (``crop``, ``batch``: the workers' sizes;
  ``baselines``: also the LI figures' baselines)."""
  once = dict(settings, warmup=0, repeats=1)
  names = list(settings['figures'])
  if baselines:
    names += [figs.LI_BASELINES[f] for f in names if f in figs.LI_BASELINES]
  for figure in names:
    timing.log('weights of %s' % figure)
    run_worker(build[1], figure, once, dataset_dir, work_dir, 'weights',
               op_graph=build[2], crop=crop, batch=batch,
               engine='session')


def measure_floor(python, runs=3):
  """The framework's own floor under ``python``: the median peak resident
  memory (MiB) of ``runs`` fresh processes that import TensorFlow as the
  programs do and open a session (``benchmarks.floor``)."""
  peaks = []
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  for _ in range(runs):
    proc = subprocess.run([python, '-m', 'benchmarks.floor'], cwd=REPO_ROOT,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    try:
      peaks.append(json.loads(proc.stdout.strip().splitlines()[-1])[
          'peak_rss_mib'])
    except (ValueError, IndexError, KeyError) as err:
      last = (proc.stderr.strip().splitlines() or ['no output'])[-1]
      raise timing.BenchmarkError('the floor of %s could not be measured: %s'
                                  % (python, last)) from err
  return statistics.median(peaks)
