"""Whole ``test.py`` runs, start to end, against the reference stack.

    python -m benchmarks.whole_runs [--figure test_li_r50] [--images 4,40]
                                    [--pairs 5]

Runs ``test.py`` on a split of N synthetic images, alternately under this
interpreter with its defaults and under ``--reference_python`` (1.15.5) with
``--op_graph=original --inference_engine=session`` -- the original's speed
-- ``--pairs`` times each, the order flipping every pair.  A run counts from
start to exit: importing TensorFlow, building the graph, restoring (and,
where ``inference_engine = auto`` chooses it, converting to TensorFlow
Lite), every image, writing the results.  Reports the median wall time and
CPU time (the run and the processes it waited for) of each side and their
ratio; ``bench/whole_runs.json``, and with ``--doc`` the table between the
page's ``whole`` markers.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from benchmarks import figures as figs
from benchmarks import report
from benchmarks import side_by_side
from benchmarks import timing

REFERENCE_FLAGS = ['--op_graph=original', '--inference_engine=session']
BEGIN = '<!-- whole:begin -->'
END = '<!-- whole:end -->'


def _children_cpu():
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def timed_run(cmd, env):
  """Runs ``cmd`` to its end: ``(wall s, CPU s)``; BenchmarkError on a
  failure, naming its last line."""
  cpu, start = _children_cpu(), time.perf_counter()
  proc = subprocess.run(cmd, cwd=figs.REPO_ROOT, env=env,
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True)
  wall = time.perf_counter() - start
  if proc.returncode != 0:
    last = ([l for l in proc.stdout.splitlines() if l.strip()] or
            ['no output'])[-1]
    raise timing.BenchmarkError('%s failed: %s' % (' '.join(cmd[:2]), last))
  return wall, _children_cpu() - cpu


def program_command(python, figure, records, checkpoint, crop, out_dir):
  return [python, os.path.join(figs.REPO_ROOT, 'test.py'),
          '--config_file', os.path.join(figs.REPO_ROOT,
                                        figs.FIGURES[figure][1]),
          '--dataset_dir', records, '--test_split', 'val',
          '--snapshot_root', out_dir, '--checkpoint_path', checkpoint,
          '--test_resdir', out_dir, '--eval_crop_size', '%d,%d' % (crop, crop)]


def compare(args):
  """Every pair of every split size; returns the result rows."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  crop = args.crop or figs.FIGURES[args.figure][3]
  work = os.path.join(args.bench_dir, 'whole_runs')
  os.makedirs(work, exist_ok=True)
  checkpoint = os.path.join(work, args.figure + '.ckpt')
  rows = []
  for images in args.images:
    records = figs.make_bench_records(
        os.path.join(work, 'data_%d' % images), images, args.image_size)
    if not os.path.isfile(checkpoint + '.index'):
      side_by_side.prepare_weights(
          dict(figures=[args.figure], warmup=0, repeats=1, test_crop=crop,
               train_crop=None, batch=None),
          ('default', sys.executable, 'fast'), records, work,
          baselines=False)
    sides = {'reference': (args.reference_python, REFERENCE_FLAGS),
             'default': (sys.executable, [])}
    times = {name: [] for name in sides}
    order = ['reference', 'default']
    for pair in range(args.pairs):
      for name in order:
        python, flags = sides[name]
        timing.log('%d images, pair %d/%d: %s' % (images, pair + 1,
                                                  args.pairs, name))
        with tempfile.TemporaryDirectory(dir=work) as out_dir:
          times[name].append(timed_run(program_command(
              python, args.figure, records, checkpoint, crop, out_dir) +
                                       flags, env))
      order.reverse()
    row = {'figure': args.figure, 'images': images, 'crop': crop,
           'pairs': args.pairs}
    for name in sides:
      row[name + '_wall_s'] = statistics.median(w for w, _ in times[name])
      row[name + '_cpu_s'] = statistics.median(c for _, c in times[name])
      row[name + '_runs'] = times[name]
    row['ratios'] = [r[0] / d[0] for r, d in zip(times['reference'],
                                                 times['default'])]
    row['speedup'] = statistics.median(row['ratios'])
    rows.append(row)
  return rows


def format_rows(rows, results=None):
  lines = ['| run | reference (1.15.5, original graph, session) | default '
           '| speedup (median of pairs) |', '|---|---|---|---|']
  for row in rows:
    lines.append('| `test.py` %s, %d images, %dx%d | %.1f s (CPU %.1f s) | '
                 '%.1f s (CPU %.1f s) | %.2fx |' % (
                     row['figure'], row['images'], row['crop'], row['crop'],
                     row['reference_wall_s'], row['reference_cpu_s'],
                     row['default_wall_s'], row['default_cpu_s'],
                     row['speedup']))
  if results:
    m = results['machine']
    lines += ['', 'Measured by `benchmarks/whole_runs.py` on %s (%s usable '
              'CPUs), %d pairs, load average %s after; %.0f s.' % (
                  m.get('cpu'), m.get('usable_cpus'), rows[0]['pairs'],
                  results['loadavg_after'], results['wall_s'])]
  return '\n'.join(lines)


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='whole_runs', description='Whole test.py runs against the '
      'reference stack, interleaved.')
  parser.add_argument('--figure', default='test_li_r50',
                      choices=sorted(f for f in figs.FIGURES
                                     if f.startswith('test_')))
  parser.add_argument('--images', default='4,40',
                      help='comma-separated split sizes')
  parser.add_argument('--pairs', type=int, default=5)
  parser.add_argument('--crop', type=int, default=None)
  parser.add_argument('--image_size', type=int, default=300)
  parser.add_argument('--reference_python', default=os.path.join(
      figs.REPO_ROOT, '.venv', 'bin', 'python'))
  parser.add_argument('--bench_dir', default=os.path.join(figs.REPO_ROOT,
                                                          'bench'))
  parser.add_argument('--doc', default=None,
                      help='write the table into this page (whole markers)')
  args = parser.parse_args(argv)
  try:
    args.images = [int(n) for n in args.images.split(',')]
  except ValueError:
    args.images = []
  if not args.images or min(args.images) < 1 or args.pairs < 1:
    parser.error('--images takes positive integers separated by commas and '
                 '--pairs must be >= 1')
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  started = time.time()
  try:
    rows = compare(args)
  except timing.BenchmarkError as err:
    sys.stderr.write('whole_runs: error: %s\n' % err)
    return 2
  results = {'rows': rows, 'machine': timing.machine_info(),
             'loadavg_after': timing.loadavg(),
             'wall_s': round(time.time() - started, 1)}
  output = os.path.join(args.bench_dir, 'whole_runs.json')
  with open(output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  table = format_rows(rows, results)
  print(table)
  if args.doc:
    report.update_doc(args.doc, table, BEGIN, END)
    print('table written into %s' % args.doc)
  print('results written to %s' % output)
  return 0


if __name__ == '__main__':
  sys.exit(main())
