"""The closing report of runners/demo.sh: figures, summary, output map.

    python tools/demo_report.py --output_dir demo_output \
        --run "LI-MNV2 + LI-ASPP=liMnv2_liAspp_shapes" \
        [--run "MNV2 + ASPP=mnv2_aspp_shapes"] --wall_seconds 640

For each run (``LABEL=CONFIG_NAME`` under ``<output_dir>/snapshots``) it
reads the validation record, the test and boundary results of the best
checkpoint, draws ``figures/learning_curve.png`` (training loss from
``logs/train_<config>.log`` and validation mIoU per checkpoint) and
``figures/demo_predictions.png`` (test plots of the first run, stacked),
then prints and writes ``summary.txt``: the metrics side by side, the wall
time, and where every output lies.
"""
import argparse
import collections
import glob
import os
import re
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import numpy as np

from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import train_checkpoints
from li_programs.report import result_files
from li_programs.runtime import run_folders

SUMMARY_TXT = 'summary.txt'
LEARNING_CURVE_PNG = 'learning_curve.png'
PREDICTIONS_PNG = 'demo_predictions.png'
_STEP_LINE = re.compile(r'^step (\d+): loss = ([0-9.eE+-]+|nan|inf)')

RunResult = collections.namedtuple('RunResult', [
    'label', 'config_name', 'root', 'best_checkpoint', 'val_paths',
    'val_mious', 'test_dir', 'miou', 'acc', 'boundary_miou', 'boundary_acc',
    'boundary_width', 'plots'])


class ReportError(ValueError):
  """An expected result file of the demo is missing or unreadable."""


def _scalar(mat, key, path):
  if key not in mat:
    raise ReportError('%s has no %r entry' % (path, key))
  return float(np.asarray(mat[key]).ravel()[0])


def collect_run(snapshot_root, label, config_name):
  """Reads the results of one trained, validated and tested config."""
  import scipy.io  # only the results reader needs scipy
  dirs = run_folders.output_dirs(snapshot_root, config_name)
  try:
    paths, mious = result_files.read_val_results(dirs.val)
    best = result_files.best_existing_val_checkpoint(dirs.val)[0]
  except checkpoint_check.CheckpointError as err:
    raise ReportError(str(err)) from err
  name = os.path.basename(best) + run_folders.BEST_VAL_SUFFIX
  candidates = sorted(glob.glob(os.path.join(
      glob.escape(dirs.test), glob.escape(name), 'eval_scale_*',
      result_files.TEST_RESULT_MAT)))
  if not candidates:
    raise ReportError('no test results of %s under %s: run test.py'
                      % (best, os.path.join(dirs.test, name)))
  test_dir = os.path.dirname(candidates[0])
  test_mat = scipy.io.loadmat(candidates[0])
  boundary_path = os.path.join(test_dir, 'boundary_result.mat')
  if not os.path.isfile(boundary_path):
    raise ReportError('no boundary results at %s: run tools/boundary_miou.py'
                      % boundary_path)
  boundary = scipy.io.loadmat(boundary_path)
  plots = sorted(glob.glob(os.path.join(glob.escape(test_dir), 'plots',
                                        '*_plot.png')))
  return RunResult(
      label, config_name, dirs.root, best, paths, mious, test_dir,
      _scalar(test_mat, 'miou', candidates[0]),
      _scalar(test_mat, 'acc', candidates[0]),
      _scalar(boundary, 'boundary_miou', boundary_path),
      _scalar(boundary, 'boundary_acc', boundary_path),
      int(_scalar(boundary, 'boundary_width', boundary_path)), plots)


def read_train_log(path):
  """(steps, losses) of the ``step N: loss = L`` lines of a train log."""
  steps, losses = [], []
  if not os.path.isfile(path):
    return steps, losses
  with open(path) as f:
    for line in f:
      match = _STEP_LINE.match(line)
      if match:
        steps.append(int(match.group(1)))
        losses.append(float(match.group(2)))
  return steps, losses


def plot_learning_curves(runs, log_dir, path):
  """Training loss and validation mIoU against the step, one colour a run."""
  import matplotlib  # lazily: slow, and Agg must be chosen before pyplot
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  fig, (loss_ax, miou_ax) = plt.subplots(1, 2, figsize=(11, 4))
  for index, run in enumerate(runs):
    colour = 'C%d' % index
    steps, losses = read_train_log(
        os.path.join(log_dir, 'train_%s.log' % run.config_name))
    if steps:
      loss_ax.plot(steps, losses, color=colour, label=run.label,
                   marker='.' if len(steps) < 40 else None)
    val_steps = [train_checkpoints.global_step_of(p) for p in run.val_paths]
    points = [(s, 100.0 * m) for s, m in zip(val_steps, run.val_mious)
              if s is not None and not np.isnan(m)]
    if points:
      xs, ys = zip(*points)
      miou_ax.plot(xs, ys, 'o-', color=colour, label=run.label)
  loss_ax.set_title('training loss')
  loss_ax.set_xlabel('step')
  loss_ax.set_ylabel('total loss')
  miou_ax.set_title('validation mIoU per checkpoint')
  miou_ax.set_xlabel('step')
  miou_ax.set_ylabel('mIoU (%)')
  for axis in (loss_ax, miou_ax):
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
      axis.legend()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def stack_plots(plot_paths, path, max_rows=3):
  """Stacks up to ``max_rows`` test plots (image | prediction | label)."""
  from PIL import Image  # only the figure stacking needs PIL
  images = [Image.open(p).convert('RGB') for p in plot_paths[:max_rows]]
  if not images:
    return None
  width = max(im.width for im in images)
  canvas = Image.new('RGB', (width, sum(im.height for im in images)),
                     (255, 255, 255))
  top = 0
  for im in images:
    canvas.paste(im, ((width - im.width) // 2, top))
    top += im.height
  os.makedirs(os.path.dirname(path), exist_ok=True)
  canvas.save(path)
  return path


def format_duration(seconds):
  minutes, secs = divmod(int(round(seconds)), 60)
  return '%d min %02d s' % (minutes, secs)


def metrics_table(runs):
  """The metrics of every run side by side, as text lines."""
  width = max(24, max(len(r.label) for r in runs) + 2)
  rows = [('', [r.label for r in runs])]
  rows.append(('mIoU', ['%.2f%%' % (100 * r.miou) for r in runs]))
  rows.append(('pixel accuracy', ['%.2f%%' % (100 * r.acc) for r in runs]))
  rows.append(('boundary mIoU (%d px)' % runs[0].boundary_width,
               ['%.2f%%' % (100 * r.boundary_miou) for r in runs]))
  rows.append(('boundary acc (%d px)' % runs[0].boundary_width,
               ['%.2f%%' % (100 * r.boundary_acc) for r in runs]))
  rows.append(('best checkpoint',
               [os.path.basename(r.best_checkpoint) for r in runs]))
  return ['%-24s' % name + ''.join('%-*s' % (width, v) for v in values)
          for name, values in rows]


def build_summary(runs, output_dir, wall_seconds, figures, reused=None):
  """The closing text: metrics, wall time and the map of outputs.

  ``reused`` names a run whose results come from an earlier invocation (its
  time is not in ``wall_seconds``).
  """
  lines = ['LI-Convs demo finished in %s (wall time)' % format_duration(
      wall_seconds) if wall_seconds is not None else 'LI-Convs demo results']
  if reused:
    lines.append('(the %s results were reused from the earlier run in this '
                 'folder; their time is not included)' % reused)
  lines.append('')
  lines += metrics_table(runs)
  lines += ['', '(on the %s split of the synthetic shapes set; boundary '
            'metrics count only pixels within %d px of an object border)'
            % ('val', runs[0].boundary_width), '', 'Outputs:']
  dataset = os.path.join(output_dir, 'dataset')
  lines.append('  dataset          %s (raw images and labels: %s)' % (
      os.path.join(dataset, 'tfrecord'), os.path.join(dataset, 'raw')))
  for run in runs:
    lines.append('  [%s]' % run.label)
    lines.append('  checkpoints      %s' % os.path.join(run.root, 'train'))
    lines.append('  val results      %s' % os.path.join(
        run.root, 'val', result_files.VAL_RESULT_TXT))
    lines.append('  test results     %s' % os.path.join(
        run.test_dir, result_files.TEST_RESULT_TXT))
    lines.append('  boundary results %s' % os.path.join(
        run.test_dir, 'boundary_result.txt'))
    lines.append('  test plots       %s (%d images)' % (
        os.path.join(run.test_dir, 'plots'), len(run.plots)))
    lines.append('  test metrics     %s' % ', '.join(
        os.path.join(run.test_dir, n) for n in (
            'metrics.json', 'per_class_iou.csv', 'confusion_matrix.png')))
    run_plot = os.path.join(run.root, 'run_plot.png')
    if os.path.isfile(run_plot):
      lines.append('  run plot         %s' % run_plot)
  predictions = os.path.join(output_dir, 'predictions')
  if os.path.isdir(predictions):
    lines.append('  predict.py       %s (<name>.png, color/, overlay/)'
                 % predictions)
  li_dir = os.path.join(output_dir, 'li_figures')
  if os.path.isdir(li_dir):
    lines.append('  LI figures       %s' % ', '.join(
        os.path.join(li_dir, n) for n in sorted(os.listdir(li_dir))))
  for name, path in figures:
    if path:
      lines.append('  %-16s %s' % (name, path))
  lines.append('  logs             %s' % os.path.join(output_dir, 'logs'))
  lines.append('  this summary     %s' % os.path.join(output_dir, SUMMARY_TXT))
  return '\n'.join(lines) + '\n'


def parse_run(text):
  label, sep, name = text.rpartition('=')
  if not sep or not label or not name:
    raise ReportError('--run takes LABEL=CONFIG_NAME, got %r' % text)
  return label, name


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--output_dir', required=True,
                      help='the demo folder (DEMO_OUTPUT)')
  parser.add_argument('--run', action='append', required=True,
                      help='LABEL=CONFIG_NAME, once per trained config')
  parser.add_argument('--wall_seconds', type=float, default=None)
  parser.add_argument('--reused', default=None,
                      help='label of a run reused from an earlier invocation')
  args = parser.parse_args(argv)
  output_dir = os.path.abspath(args.output_dir)
  try:
    runs = [collect_run(os.path.join(output_dir, 'snapshots'), *parse_run(r))
            for r in args.run]
  except ReportError as err:
    sys.stderr.write('demo_report.py: error: %s\n' % err)
    return 2
  figure_dir = os.path.join(output_dir, 'figures')
  figures = [
      ('learning curve', plot_learning_curves(
          runs, os.path.join(output_dir, 'logs'),
          os.path.join(figure_dir, LEARNING_CURVE_PNG))),
      ('predictions', stack_plots(
          runs[0].plots, os.path.join(figure_dir, PREDICTIONS_PNG)))]
  text = build_summary(runs, output_dir, args.wall_seconds, figures,
                       args.reused)
  with open(os.path.join(output_dir, SUMMARY_TXT), 'w') as f:
    f.write(text)
  sys.stdout.write('\n' + text)
  return 0


if __name__ == '__main__':
  sys.exit(main())
