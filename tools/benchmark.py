"""The project's speed against the reference stack, side by side: ``make bench``.

    python -m tools.benchmark [--quick] [--reference_python .venv/bin/python]
                              [--readme README.md]

Times the figures of ``tools.bench_workloads.FIGURES`` -- ``test.py``'s
graph per image at 513x513 (CelebAMask-HQ) and ``train.py``'s train op per
step at 129x129, batch 4 (ADE20K), for LI-MobileNetV2 + LI-ASPP and
LI-ResNet-50 + LI-ASPP + decoder -- two ways:

* *default*: the interpreter running this tool (``make bench`` uses the
  environment ``make setup`` made the default, see the README) building
  the default ``op_graph = fast``;
* *reference*: ``--reference_python``, by default ``.venv/bin/python``
  (tensorflow==1.15.5 on Python 3.7), building ``op_graph = original``:
  op for op the original's graph on the original's TensorFlow, which is
  what the project ran before it had a fast graph
  (``--reference_op_graph fast`` times 1.15.5 with the fast graph).

Every measurement is a fresh worker process (``tools.bench_workloads``).
In each round a figure's two workers, one per build, are open at once and
take turns run by run (``run_side_by_side``), so slow phases of a shared
machine hit both alike; each figure's time is the median over rounds of
each worker's median, and the ratio is the median over rounds of
reference / default.  The peak resident memory of each worker is reported
per figure.  The LI overhead is the default build's step-time ratio of
each LI model to its non-LI baseline, both open in one more worker per
round and run in turn (``bench_workloads.run_pair``; the median over
rounds), next to the FLOP ratio of their eval graphs.

Results: ``bench/results.json`` and a Markdown table, which ``--readme``
writes between the ``<!-- bench:begin -->`` / ``<!-- bench:end -->`` lines.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from libs.core import op_graphs  # noqa: E402
from li_models import model_config  # noqa: E402
from li_models import model_stats  # noqa: E402
from libs.datasets import data_generator  # noqa: E402
from li_programs import inference_engine  # noqa: E402
from tools import bench_workloads as wl  # noqa: E402

REPO_ROOT = wl.REPO_ROOT
REFERENCE_PYTHON = os.path.join(REPO_ROOT, '.venv', 'bin', 'python')
LI_FIGURES = ('test_li_mnv2', 'train_li_mnv2', 'test_li_r50', 'train_li_r50')
# Ten timed runs per worker: with three, the medians of identical workers
# differed by up to 40% on the 2-CPU machine; with ten, by 3% under
# 1.15.5, but still by up to 30% under 2.21 (per process, not per run),
# which the median over rounds has to absorb.
FULL = dict(figures=list(LI_FIGURES), rounds=3, repeats=10, warmup=2,
            test_crop=None, train_crop=None, batch=None)
QUICK = dict(figures=['test_li_mnv2', 'train_li_mnv2'], rounds=2, repeats=10,
             warmup=2, test_crop=None, train_crop=None, batch=None)
# runs key of the interleaved LI / baseline workers (see measure).
LI_PAIR = 'li_pair'
README_BEGIN = '<!-- bench:begin -->'
README_END = '<!-- bench:end -->'
TITLES = {'test_li_mnv2': '`test.py` LI-MNV2 + LI-ASPP, per image',
          'train_li_mnv2': '`train.py` LI-MNV2 + LI-ASPP, per step',
          'test_li_r50': '`test.py` LI-R50 + LI-ASPP + decoder, per image',
          'train_li_r50': '`train.py` LI-R50 + LI-ASPP + decoder, per step'}


class Worker(object):
  """One worker process (``tools.bench_workloads``) timing one figure.

  ``paired_with``: a second figure the worker times interleaved with
  ``figure`` (``bench_workloads.run_pair``).  ``serve``: the worker times
  one run whenever ``run_one`` asks (``--serve``), so that workers of two
  builds can take turns (``run_side_by_side``).  Its stderr goes to a log
  file in ``work_dir``, whose last line explains a failure.
  """

  def __init__(self, python, figure, settings, dataset_dir, work_dir, tag,
               trace=False, op_graph=op_graphs.FAST, paired_with=None,
               serve=False):
    mode = wl.FIGURES[figure][0]
    crop = settings['train_crop'] if mode == 'train' else settings['test_crop']
    self.out = os.path.join(work_dir, '%s__%s.json' % (figure, tag))
    self.label = '%s under %s' % (figure, python)
    cmd = [python, '-m', 'tools.bench_workloads', '--figure', figure,
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
    if settings['batch'] and mode == 'train':
      cmd += ['--batch', str(settings['batch'])]
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
    """Kills the worker; raises why, or else its last line on stderr."""
    self.kill()
    if why is None:
      with open(self._log_path) as f:
        why = (f.read().strip().splitlines()[-1:] or ['(no output)'])[0]
    raise wl.BenchmarkError('worker %s failed: %s' % (self.label, why))

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
    result['loadavg_after'] = wl.loadavg()
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
  drift slows every build alike (timed back to back instead, the
  reference's LI-R50 image time moved between 0.64 and 0.77 s from round to
  round).  The other workers sit blocked on their pipe meanwhile.

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
  for rnd in range(settings['rounds']):
    order = backends if rnd % 2 == 0 else backends[::-1]
    for figure in settings['figures']:
      wl.log('round %d/%d: %s under %s, side by side' % (
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
      baseline = wl.LI_BASELINES.get(figure)
      if baseline:  # the LI figure and its baseline in one worker
        wl.log('round %d/%d: %s and %s, interleaved under %s' % (
            rnd + 1, settings['rounds'], figure, baseline, default[0]))
        runs.setdefault((figure, LI_PAIR), []).append(run_worker(
            default[1], figure, settings, dataset_dir, work_dir,
            '%s_%d_pair' % (default[0], rnd), op_graph=default[2],
            paired_with=baseline))
  return runs


def _figure_seconds(results):
  return statistics.median(r['timing']['median_s'] for r in results)


def flop_ratio(figure, settings, dataset_dir):
  """FLOPs of the LI figure's eval graph / its baseline's, at the crop."""
  flops = []
  for name in (figure, wl.LI_BASELINES[figure]):
    cfg = wl.figure_config(name, dataset_dir)
    mode = wl.FIGURES[name][0]
    crop = ((settings['train_crop'] if mode == 'train' else
             settings['test_crop']) or wl.FIGURES[name][3])
    num_classes = data_generator.get_descriptor(cfg.dataset).num_classes
    options = model_config.model_options_from_config(cfg, num_classes,
                                                     [crop, crop])
    flops.append(model_stats.count_flops_and_params(options,
                                                    [crop, crop])[0])
  return flops[0] / float(flops[1])


def summarize_runs(runs, settings, backends, dataset_dir, count_flops=True):
  """Per figure: seconds and peak memory per backend, ratio, LI overhead."""
  ref_name, default_name = backends[0][0], backends[-1][0]
  rows = []
  for figure in settings['figures']:
    ref = runs[(figure, ref_name)]
    new = runs[(figure, default_name)]
    row = {'figure': figure, 'title': TITLES.get(figure, figure),
           'mode': new[0]['mode'], 'crop': new[0]['crop'],
           'batch': new[0]['batch'],
           'reference_s': _figure_seconds(ref),
           'default_s': _figure_seconds(new),
           'reference_peak_mib': max(r['peak_rss_mib'] for r in ref),
           'default_peak_mib': max(r['peak_rss_mib'] for r in new),
           'reference_runs_s': [r['timing']['median_s'] for r in ref],
           'default_runs_s': [r['timing']['median_s'] for r in new],
           'default_engine': new[0].get('inference_engine')}
    # Each round timed the builds side by side: the median of the rounds'
    # ratios leaves out the drift of a shared machine between rounds.
    row['round_speedups'] = [r / d for r, d in zip(row['reference_runs_s'],
                                                   row['default_runs_s'])]
    row['speedup'] = statistics.median(row['round_speedups'])
    pairs = runs.get((figure, LI_PAIR))
    if pairs:
      row['baseline'] = pairs[0]['baseline']
      row['baseline_s'] = statistics.median(
          p['baseline_timing']['median_s'] for p in pairs)
      row['li_pair_overheads'] = [p['overhead'] for p in pairs]
      row['li_time_overhead'] = statistics.median(row['li_pair_overheads'])
      profile = new[-1].get('profile')
      if profile:
        row['li_op_share'] = profile['li_op_share']
        row['default_op_profile'] = profile
      if count_flops:
        row['li_flop_overhead'] = flop_ratio(figure, settings,
                                             dataset_dir) - 1.0
    rows.append(row)
  return rows


def format_markdown(results):
  """The README table of a results dict."""
  ref, new = results['backends'][0], results['backends'][-1]
  lines = [
      '| figure | crop | %s, %s op graph | %s, %s op graph (default) | '
      'speedup | peak memory (reference / default) | LI: time overhead / '
      'share of op time / FLOP overhead |'
      % (ref['tensorflow'], ref.get('op_graph', op_graphs.ORIGINAL),
         new['tensorflow'], new.get('op_graph', op_graphs.FAST)),
      '|---|---|---|---|---|---|---|']
  for row in results['rows']:
    crop = '%dx%d' % tuple(row['crop'])
    if row['mode'] == 'train':
      crop += ', batch %d' % row['batch']
    overhead = '–'
    if 'li_time_overhead' in row:
      overhead = '%+.1f%% / %s / %s' % (
          100 * row['li_time_overhead'],
          '%.1f%%' % (100 * row['li_op_share']) if 'li_op_share' in row
          else '–',
          '%+.1f%%' % (100 * row['li_flop_overhead'])
          if 'li_flop_overhead' in row else '–')
    engine = (' (TF Lite)' if row.get('default_engine') ==
              inference_engine.TFLITE else '')
    lines.append('| %s | %s | %.3f s | %.3f s%s | %.2fx | %.0f / %.0f MiB | '
                 '%s |' % (row['title'], crop, row['reference_s'],
                           row['default_s'], engine, row['speedup'],
                           row['reference_peak_mib'], row['default_peak_mib'],
                           overhead))
  m = results['machine']
  lines.append('')
  lines.append('Measured by `make bench` on %s (%s usable CPUs), %d rounds, '
               'load average %s before and %s after; %.0f s.'
               % (m.get('cpu'), m.get('usable_cpus'), results['rounds'],
                  results['loadavg_before'], results['loadavg_after'],
                  results['wall_s']))
  return '\n'.join(lines)


def update_readme(path, table):
  """Replaces the text between the bench markers of ``path`` by ``table``."""
  with open(path) as f:
    text = f.read()
  begin, end = text.find(README_BEGIN), text.find(README_END)
  if begin < 0 or end < begin:
    raise wl.BenchmarkError('%s has no %s ... %s block to update'
                            % (path, README_BEGIN, README_END))
  text = (text[:begin + len(README_BEGIN)] + '\n' + table + '\n' +
          text[end:])
  with open(path, 'w') as f:
    f.write(text)


def _backend_label(python):
  script = ('import sys, tensorflow as tf; sys.stdout.write("TensorFlow %s, '
            'Python %d.%d" % ((tf.__version__,) + sys.version_info[:2]))')
  proc = subprocess.run([python, '-c', script], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, universal_newlines=True,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  return proc.stdout.strip() or python


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='benchmark', description='make bench: the default TensorFlow '
      'build against the reference tensorflow==1.15.5, side by side.')
  parser.add_argument('--quick', action='store_true',
                      help='the MobileNetV2 figures only, two rounds')
  parser.add_argument('--reference_python', default=REFERENCE_PYTHON)
  parser.add_argument('--reference_op_graph', default=op_graphs.ORIGINAL,
                      choices=op_graphs.OP_GRAPHS,
                      help='op graph the reference builds (default: the '
                      "original's)")
  parser.add_argument('--figures', default=None,
                      help='comma-separated, of: %s' % ', '.join(LI_FIGURES))
  parser.add_argument('--rounds', type=int, default=None)
  parser.add_argument('--repeats', type=int, default=None)
  parser.add_argument('--warmup', type=int, default=None)
  parser.add_argument('--test_crop', type=int, default=None)
  parser.add_argument('--train_crop', type=int, default=None)
  parser.add_argument('--batch', type=int, default=None)
  # More records than the training pipeline's shuffle buffer (100) holds:
  # the timed steps then see its steady state, four images preprocessed per
  # step, not an epoch refill every third step.
  parser.add_argument('--num_images', type=int, default=200)
  parser.add_argument('--image_size', type=int, default=300)
  parser.add_argument('--no_flops', action='store_true',
                      help='skip the FLOP count of the LI overhead')
  parser.add_argument('--output', default=os.path.join(REPO_ROOT, 'bench',
                                                       'results.json'))
  parser.add_argument('--bench_dir', default=os.path.join(REPO_ROOT, 'bench'))
  parser.add_argument('--readme', default=None,
                      help='write the table into this README')
  return parser.parse_args(argv)


def settings_from_args(args):
  settings = dict(QUICK if args.quick else FULL)
  if args.figures:
    settings['figures'] = [f.strip() for f in args.figures.split(',')]
  for key in ('rounds', 'repeats', 'warmup', 'test_crop', 'train_crop',
              'batch'):
    if getattr(args, key) is not None:
      settings[key] = getattr(args, key)
  for figure in settings['figures']:
    if figure not in LI_FIGURES:
      raise wl.BenchmarkError('--figures: unknown figure %r; allowed values: '
                              '%s' % (figure, ', '.join(LI_FIGURES)))
  if settings['rounds'] < 1 or settings['repeats'] < 1:
    raise wl.BenchmarkError('--rounds and --repeats must be >= 1')
  return settings


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    settings = settings_from_args(args)
    if not os.path.exists(args.reference_python):
      raise wl.BenchmarkError(
          'no reference interpreter at %s: run `make setup` (it builds .venv '
          'with tensorflow==1.15.5) or pass --reference_python'
          % args.reference_python)
    backends = [('reference', args.reference_python,
                 args.reference_op_graph),
                ('default', sys.executable, op_graphs.FAST)]
    dataset_dir = wl.make_bench_records(
        os.path.join(args.bench_dir, 'data'), args.num_images,
        args.image_size)
    started, load_before = time.time(), wl.loadavg()
    with tempfile.TemporaryDirectory(dir=args.bench_dir) as work_dir:
      runs = measure(settings, backends, dataset_dir, work_dir)
    rows = summarize_runs(runs, settings, backends, dataset_dir,
                          count_flops=not args.no_flops)
  except wl.BenchmarkError as err:
    sys.stderr.write('benchmark: error: %s\n' % err)
    return 2
  results = {'machine': wl.machine_info(), 'settings': settings,
             'rounds': settings['rounds'],
             'backends': [{'name': n, 'python': p, 'op_graph': g,
                           'tensorflow': _backend_label(p)}
                          for n, p, g in backends],
             'loadavg_before': load_before, 'loadavg_after': wl.loadavg(),
             'rows': rows, 'wall_s': round(time.time() - started, 1)}
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  with open(args.output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  table = format_markdown(results)
  print(table)
  if args.readme:
    update_readme(args.readme, table)
    print('table written into %s' % args.readme)
  print('results written to %s' % args.output)
  return 0


if __name__ == '__main__':
  sys.exit(main())
