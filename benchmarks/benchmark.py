"""The project's speed and memory against the reference stack: ``make bench``.

    python -m benchmarks.benchmark [--quick | --scaling]
                                   [--reference_python .venv/bin/python]
                                   [--doc docs/performance.md]

Times the figures of ``benchmarks.figures.FIGURES`` -- ``test.py``'s graph
per image at 513x513 (CelebAMask-HQ) and ``train.py``'s train op per step at
129x129, batch 4 (ADE20K), for LI-MobileNetV2 + LI-ASPP and LI-ResNet-50 +
LI-ASPP + decoder -- two ways:

* *default*: the interpreter running this tool (``make bench`` uses the
  environment ``make setup`` made the default) building the default
  ``op_graph = fast``;
* *reference*: ``--reference_python``, by default ``.venv/bin/python``
  (tensorflow==1.15.5 on Python 3.7), building ``op_graph = original``:
  op for op the original's graph on the original's TensorFlow
  (``--reference_op_graph fast`` times 1.15.5 with the fast graph).

Each figure's time is the median over rounds of each worker's median, and
its speedup the median over rounds of reference / default, the builds timed
side by side (``benchmarks.side_by_side``).  Memory: each worker's peak
resident memory, and above each build's floor (``benchmarks.floor``,
measured first) the ratio of the default's to the reference's.  The LI
overhead is the default build's step-time ratio of each LI model to its
non-LI baseline, both open in one more worker per round and run in turn,
next to the FLOP ratio of their eval graphs.  ``--scaling``
(``benchmarks.scaling``) times the figures at three sizes instead.

Results: ``bench/results.json`` (``bench/scaling.json``) and a Markdown
table, which ``--doc`` writes between the page's bench (scaling) markers.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from benchmarks import figures as figs
from benchmarks import report
from benchmarks import scaling
from benchmarks import side_by_side
from benchmarks import timing
from libs.core import op_graphs

REPO_ROOT = figs.REPO_ROOT
REFERENCE_PYTHON = os.path.join(REPO_ROOT, '.venv', 'bin', 'python')
LI_FIGURES = ('test_li_mnv2', 'train_li_mnv2', 'test_li_r50', 'train_li_r50')
# Ten timed runs per worker: with three, the medians of identical workers
# differed far more (docs/performance.md, "Noise"); what differs per
# process, not per run, the median over rounds has to absorb.
FULL = dict(figures=list(LI_FIGURES), rounds=3, repeats=10, warmup=2,
            test_crop=None, train_crop=None, batch=None)
QUICK = dict(figures=['test_li_mnv2', 'train_li_mnv2'], rounds=2, repeats=10,
             warmup=2, test_crop=None, train_crop=None, batch=None)


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
  kind = parser.add_mutually_exclusive_group()
  kind.add_argument('--quick', action='store_true',
                    help='the MobileNetV2 figures only, two rounds')
  kind.add_argument('--scaling', action='store_true',
                    help='per image at three crops, per step at three '
                    'batches (benchmarks.scaling)')
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
  parser.add_argument('--test_crops', default=None,
                      help='--scaling: comma-separated crops of the test '
                      'figures (default %s)' % ','.join(
                          str(c) for c in scaling.TEST_CROPS))
  parser.add_argument('--train_batches', default=None,
                      help='--scaling: comma-separated batches of the train '
                      'figures (default %s)' % ','.join(
                          str(b) for b in scaling.TRAIN_BATCHES))
  # More records than the training pipeline's shuffle buffer (100) holds:
  # the timed steps then see its steady state, four images preprocessed per
  # step, not an epoch refill every third step.
  parser.add_argument('--num_images', type=int, default=200)
  parser.add_argument('--image_size', type=int, default=300)
  parser.add_argument('--no_flops', action='store_true',
                      help='skip the FLOP count of the LI overhead')
  parser.add_argument('--floor_runs', type=int, default=3,
                      help='processes that measure each floor (median)')
  parser.add_argument('--output', default=None,
                      help='results JSON (default bench/results.json, '
                      'bench/scaling.json with --scaling)')
  parser.add_argument('--bench_dir', default=os.path.join(REPO_ROOT, 'bench'))
  parser.add_argument('--doc', default=None,
                      help='write the table into this page (between its '
                      'bench or scaling markers)')
  return parser.parse_args(argv)


def _int_list(text, flag):
  try:
    values = [int(v) for v in text.split(',')]
  except ValueError:
    values = []
  if not values or min(values) < 1:
    raise timing.BenchmarkError('%s takes positive integers separated by '
                                'commas, got %r' % (flag, text))
  return values


def settings_from_args(args):
  if args.scaling:
    settings = dict(scaling.SETTINGS)
  else:
    settings = dict(QUICK if args.quick else FULL)
  if args.figures:
    settings['figures'] = [f.strip() for f in args.figures.split(',')]
  for key in ('rounds', 'repeats', 'warmup', 'test_crop', 'train_crop',
              'batch'):
    if getattr(args, key) is not None:
      settings[key] = getattr(args, key)
  if args.test_crops:
    settings['test_crops'] = _int_list(args.test_crops, '--test_crops')
  if args.train_batches:
    settings['train_batches'] = _int_list(args.train_batches,
                                          '--train_batches')
  for figure in settings['figures']:
    if figure not in LI_FIGURES:
      raise timing.BenchmarkError('--figures: unknown figure %r; allowed '
                                  'values: %s'
                                  % (figure, ', '.join(LI_FIGURES)))
  if settings['rounds'] < 1 or settings['repeats'] < 1:
    raise timing.BenchmarkError('--rounds and --repeats must be >= 1')
  return settings


def _measure(args, settings, backends, floors, dataset_dir):
  """Runs the workers; returns the results dict (without machine facts)."""
  with tempfile.TemporaryDirectory(dir=args.bench_dir) as work_dir:
    if args.scaling:
      runs = scaling.measure(settings, backends, dataset_dir, work_dir)
      return {'rows': scaling.summarize(runs, settings, backends, floors)}
    runs = side_by_side.measure(settings, backends, dataset_dir, work_dir)
  return {'rows': report.summarize_runs(runs, settings, backends,
                                        dataset_dir,
                                        count_flops=not args.no_flops,
                                        floors=floors)}


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  output = args.output or os.path.join(
      args.bench_dir, 'scaling.json' if args.scaling else 'results.json')
  try:
    settings = settings_from_args(args)
    if not os.path.exists(args.reference_python):
      raise timing.BenchmarkError(
          'no reference interpreter at %s: run `make setup` (it builds .venv '
          'with tensorflow==1.15.5) or pass --reference_python'
          % args.reference_python)
    backends = [('reference', args.reference_python,
                 args.reference_op_graph),
                ('default', sys.executable, op_graphs.FAST)]
    os.makedirs(args.bench_dir, exist_ok=True)
    # Evaluation pads an image to the crop and refuses a larger one: the
    # images must fit the smallest crop timed.
    crops = [settings['test_crop'] or figs.FIGURES[f][3]
             for f in settings['figures'] if figs.FIGURES[f][0] == 'eval']
    crops += settings.get('test_crops', []) if args.scaling else []
    image_size = min([args.image_size] + crops)
    dataset_dir = figs.make_bench_records(
        os.path.join(args.bench_dir, 'data'), args.num_images, image_size)
    started, load_before = time.time(), timing.loadavg()
    timing.log('floors: importing TensorFlow and opening a session')
    floors = {name: side_by_side.measure_floor(python, args.floor_runs)
              for name, python, _ in backends}
    timing.log('floors: %s' % ', '.join('%s %.0f MiB' % kv
                                        for kv in sorted(floors.items())))
    results = _measure(args, settings, backends, floors, dataset_dir)
  except timing.BenchmarkError as err:
    sys.stderr.write('benchmark: error: %s\n' % err)
    return 2
  results.update({
      'machine': timing.machine_info(), 'settings': settings,
      'rounds': settings['rounds'],
      'backends': [{'name': n, 'python': p, 'op_graph': g,
                    'tensorflow': _backend_label(p)}
                   for n, p, g in backends],
      'reference_floor_mib': floors['reference'],
      'default_floor_mib': floors['default'],
      'make_flags': (' SCALING=1' if args.scaling else
                     ' QUICK=1' if args.quick else ''),
      'loadavg_before': load_before, 'loadavg_after': timing.loadavg(),
      'wall_s': round(time.time() - started, 1)})
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  with open(output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  if args.scaling:
    table = scaling.format_markdown(results)
    markers = (scaling.BEGIN, scaling.END)
  else:
    table = report.format_markdown(results)
    markers = (report.BEGIN, report.END)
  print(table)
  if args.doc:
    report.update_doc(args.doc, table, *markers)
    print('table written into %s' % args.doc)
  print('results written to %s' % output)
  return 0


if __name__ == '__main__':
  sys.exit(main())
