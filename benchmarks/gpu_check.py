"""One command for a GPU machine: ``make gpu-check``.

    python -m benchmarks.gpu_check [--doc docs/performance.md]

With TensorFlow 2.x seeing a GPU, it

1. prints the GPUs TensorFlow sees;
2. evaluates LI-MNV2 + LI-ASPP and LI-ResNet-50 + LI-ASPP + decoder with
   ``test.py`` on the GPU and on the CPU (the same seeded weights and
   records): the confusion matrices must agree within the golden test's
   limit (``MAX_L1``, the share of pixels that may change class);
3. runs one ``train.py`` step of LI-MNV2 + LI-ASPP on each from the same
   checkpoint and seed and compares the updates with the limits the
   original's own train-step check grants (``MOVING_LIMIT``,
   ``WEIGHTS_LIMIT``); with ``../shared`` present it also runs that check
   (case_A) on the GPU;
4. runs a short ``make demo TF=2`` (on the GPU);
5. times the figures of ``make bench`` at crop 513 -- ``test.py`` per image,
   ``train.py`` per step at batch 8 -- for LI-MNV2 and LI-ResNet-50 and the
   same models without LI, with the peak GPU memory of each.

Steps 2 and 3 turn TF32 off (``NVIDIA_TF32_OVERRIDE=0``) so that the GPU
computes in float32 like the CPU; step 5 keeps TensorFlow's default.  Results
go to ``bench/gpu.json``; ``--doc`` writes the table between the page's
``gpu`` markers.  Without a GPU it says so in one line and exits 0.
``--allow_cpu`` runs every step on the CPU (the tests of this tool).
"""
import argparse
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from benchmarks import figures as figs
from benchmarks import gpu_runs
from benchmarks import report
from benchmarks import timing

BEGIN = '<!-- gpu:begin -->'
END = '<!-- gpu:end -->'
# The LI models and their baselines (figure names without the mode).
MODELS = {'li_mnv2': 'mnv2', 'li_r50': 'r50'}
TITLES = {'li_mnv2': 'LI-MNV2 + LI-ASPP against MNV2 + ASPP',
          'li_r50': 'LI-R50 + LI-ASPP + decoder against R50 + ASPP + '
                    'decoder'}


def visible_gpus():
  """``[(device name, model)]`` of the GPUs TensorFlow sees."""
  import tensorflow as tf
  gpus = []
  for device in tf.config.experimental.list_physical_devices('GPU'):
    try:
      details = tf.config.experimental.get_device_details(device)
    except (AttributeError, ValueError):
      details = {}
    gpus.append((device.name, details.get('device_name', 'unknown')))
  return gpus


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='gpu_check', description='make gpu-check: the programs on a GPU '
      'against the CPU, a short demo and the GPU figures.')
  parser.add_argument('--doc', default=None,
                      help='write the table into this page (gpu markers)')
  parser.add_argument('--output', default=os.path.join(figs.REPO_ROOT,
                                                       'bench', 'gpu.json'))
  parser.add_argument('--work_dir', default=os.path.join(figs.REPO_ROOT,
                                                         'bench', 'gpu'))
  parser.add_argument('--models', default=','.join(MODELS),
                      help='comma-separated, of: %s' % ', '.join(MODELS))
  parser.add_argument('--crop', type=int, default=513)
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--repeats', type=int, default=10)
  parser.add_argument('--num_images', type=int, default=16)
  parser.add_argument('--image_size', type=int, default=300)
  parser.add_argument('--skip_demo', action='store_true')
  parser.add_argument('--allow_cpu', action='store_true',
                      help='run every step on the CPU (tests)')
  args = parser.parse_args(argv)
  args.models = [m.strip() for m in args.models.split(',') if m.strip()]
  unknown = [m for m in args.models if m not in MODELS]
  if unknown or not args.models:
    parser.error('--models: unknown model(s) %s; allowed values: %s'
                 % (', '.join(unknown) or "''", ', '.join(MODELS)))
  return args


def _status(passed):
  return 'PASS' if passed else 'FAIL'


def run_checks(args, gpus):
  """Every step; returns the results dict (its 'passed' says it all)."""
  runs = gpu_runs.Runs(args.work_dir, allow_cpu=args.allow_cpu)
  records = figs.make_bench_records(os.path.join(args.work_dir, 'data'),
                                    args.num_images, args.image_size)
  results = {'gpus': gpus, 'tensorflow': gpu_runs.tensorflow_version(),
             'machine': timing.machine_info(), 'crop': args.crop,
             'batch': args.batch, 'checks': {}}
  checks = results['checks']
  for model in args.models:
    l1 = runs.golden(model, records, args.crop)
    checks['golden_' + model] = {'l1': l1, 'limit': gpu_runs.MAX_L1,
                                 'passed': l1 <= gpu_runs.MAX_L1}
    print('%s test.py %s on the GPU against the CPU: confusion matrices '
          'differ by L1 %.2e (limit %.0e)' % (
              _status(l1 <= gpu_runs.MAX_L1), model, l1, gpu_runs.MAX_L1))
  step = runs.train_step(records, min(args.crop, 129), 4)
  checks['train_step'] = step
  print('%s one train.py step of li_mnv2 on the GPU against the CPU: '
        'moving statistics %.2e (limit %.0e), weights %.2e (limit %.2f)' % (
            _status(step['passed']), step['moving'], gpu_runs.MOVING_LIMIT,
            step['weights'], gpu_runs.WEIGHTS_LIMIT))
  shared = runs.shared_train_step_check()
  if shared is not None:
    checks['shared_train_step_case_A'] = shared
    print('%s the original\'s train-step check (case_A) on the GPU'
          % _status(shared['passed']))
  if not args.skip_demo:
    checks['demo'] = runs.demo()
    print('%s a short make demo TF=2 on the GPU (%s)' % (
        _status(checks['demo']['passed']), checks['demo']['summary']))
  results['rows'] = []
  for model in args.models:
    row = runs.figures(model, MODELS[model], records, args.crop, args.batch,
                       args.warmup, args.repeats)
    row['title'] = TITLES[model]
    results['rows'].append(row)
    print('timed %s: %.3f s per image, %.3f s per step' % (
        model, row['test_s'], row['train_s']))
  results['passed'] = all(c['passed'] for c in checks.values())
  return results


def format_markdown(results):
  """The docs' table of a gpu.json dict."""
  lines = ['| models | `test.py` per image, %dx%d | `train.py` per step, '
           '%dx%d, batch %d | peak GPU memory, test / train | LI time '
           'overhead, test / train |' % (
               results['crop'], results['crop'], results['crop'],
               results['crop'], results['batch']),
           '|---|---|---|---|---|']
  for row in results['rows']:
    lines.append(
        '| %s | %.4f / %.4f s | %.3f / %.3f s | %s / %s MiB | %+.1f%% / '
        '%+.1f%% |' % (
            row['title'], row['test_s'], row['test_baseline_s'],
            row['train_s'], row['train_baseline_s'],
            _mib(row['test_gpu_peak_mib']), _mib(row['train_gpu_peak_mib']),
            100 * (row['test_s'] / row['test_baseline_s'] - 1),
            100 * (row['train_s'] / row['train_baseline_s'] - 1)))
  lines.append('')
  checks = ', '.join('%s %s' % (name, _status(c['passed']))
                     for name, c in sorted(results['checks'].items()))
  lines.append('Measured by `make gpu-check` on %s with %s; checks: %s.' % (
      ', '.join('%s (%s)' % g for g in results['gpus']) or 'the CPU',
      results['tensorflow'], checks))
  return '\n'.join(lines)


def _mib(value):
  return '–' if value is None else '%.0f' % value


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  gpus = visible_gpus()
  if not gpus and not args.allow_cpu:
    print('gpu-check: %s sees no GPU here; nothing to check (run '
          '`make gpu-check` on a machine with an NVIDIA GPU)'
          % gpu_runs.tensorflow_version())
    return 0
  try:
    os.makedirs(args.work_dir, exist_ok=True)
    results = run_checks(args, gpus)
  except (timing.BenchmarkError, gpu_runs.RunError) as err:
    sys.stderr.write('gpu_check: error: %s\n' % err)
    return 2
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  with open(args.output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  table = format_markdown(results)
  print(table)
  if args.doc:
    report.update_doc(args.doc, table, BEGIN, END)
    print('table written into %s' % args.doc)
  print('results written to %s' % args.output)
  return 0 if results['passed'] else 1


if __name__ == '__main__':
  sys.exit(main())
