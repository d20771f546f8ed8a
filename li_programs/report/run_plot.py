"""One picture of a training run: loss, learning rate and val mIoU by step.

Reads what the programs leave in a run folder
(``<snapshot_root>/<config_name>``): the ``total_loss`` and
``learning_rate`` summaries of train.py's event files in ``train/`` (every
file, so resumed runs join up; a step written twice keeps its later
value), and validate.py's mIoU per checkpoint from ``val/metrics.json``,
else ``val/val_result.mat``.
"""
import glob
import json
import os

import numpy as np

from li_programs.report import pyplot

LOSS_TAG = 'total_loss'
LEARNING_RATE_TAG = 'learning_rate'
RUN_PLOT_PNG = 'run_plot.png'


class RunFolderError(ValueError):
  """Nothing to plot where the user pointed (one-line message)."""


def run_folders(folder):
  """``(train_dir, val_dir)`` of a run folder, or of its train/ or val/."""
  folder = os.path.abspath(folder)
  if os.path.isdir(os.path.join(folder, 'train')) or os.path.isdir(
      os.path.join(folder, 'val')):
    return os.path.join(folder, 'train'), os.path.join(folder, 'val')
  parent = os.path.dirname(folder)
  if os.path.basename(folder) in ('train', 'val'):
    return os.path.join(parent, 'train'), os.path.join(parent, 'val')
  if glob.glob(os.path.join(folder, 'events.out.tfevents.*')):
    return folder, os.path.join(parent, 'val')
  raise RunFolderError(
      '%s is not a run folder: it has no train/ or val/ folder and no event '
      'files; pass <snapshot_root>/<config_name>' % folder)


def read_scalars(train_dir, tags=(LOSS_TAG, LEARNING_RATE_TAG)):
  """``{tag: (steps, values)}`` from the event files of ``train_dir``."""
  import tensorflow.compat.v1 as tf
  found = {tag: {} for tag in tags}
  files = sorted(glob.glob(os.path.join(train_dir, 'events.out.tfevents.*')),
                 key=os.path.getmtime)
  for path in files:
    try:
      for event in tf.train.summary_iterator(path):
        for value in event.summary.value:
          if value.tag in found and value.HasField('simple_value'):
            found[value.tag][int(event.step)] = float(value.simple_value)
    except tf.errors.DataLossError:
      continue  # a file cut short by a killed run: keep what was read
  return {tag: (np.array(sorted(points)),
                np.array([points[s] for s in sorted(points)]))
          for tag, points in found.items()}


def read_val_mious(val_dir):
  """``(steps, mious)`` of the validated checkpoints, by step."""
  from li_programs.report import result_files
  from li_programs.checkpoints import train_checkpoints
  points = {}
  try:
    with open(os.path.join(val_dir, 'metrics.json')) as f:
      for entry in json.load(f).get('checkpoints', []):
        if entry.get('global_step') is not None and entry.get(
            'miou') is not None:
          points[int(entry['global_step'])] = float(entry['miou'])
  except (IOError, OSError, ValueError, AttributeError):
    pass
  if not points:
    try:
      paths, mious = result_files.read_val_results(val_dir)
    except ValueError:
      paths, mious = [], []
    for path, miou in zip(paths, mious):
      step = train_checkpoints.global_step_of(path)
      if step is not None and not np.isnan(miou):
        points[step] = float(miou)
  steps = sorted(points)
  return np.array(steps), np.array([points[s] for s in steps])


def plot_run(folder, output=None):
  """Draws the run of ``folder`` into ``output`` (default
  ``<run folder>/run_plot.png``); returns ``(path, counts)``, counts being
  the points per panel."""
  plt = pyplot.pyplot()

  train_dir, val_dir = run_folders(folder)
  scalars = read_scalars(train_dir) if os.path.isdir(train_dir) else {
      LOSS_TAG: (np.array([]), np.array([])),
      LEARNING_RATE_TAG: (np.array([]), np.array([]))}
  val_steps, val_mious = read_val_mious(val_dir)
  panels = [('training loss (total_loss)', scalars[LOSS_TAG], 'C0', False),
            ('learning rate', scalars[LEARNING_RATE_TAG], 'C1', False),
            ('val mIoU (%) per checkpoint', (val_steps, 100.0 * val_mious),
             'C2', True)]
  counts = {title: len(points[0]) for title, points, _, _ in panels}
  if not any(counts.values()):
    raise RunFolderError('%s has no loss, learning rate or validation '
                         'results yet: train (and validate) first' % folder)
  fig, axes = plt.subplots(3, 1, figsize=(8, 8.5), sharex=True)
  for axis, (title, (steps, values), colour, markers) in zip(axes, panels):
    if len(steps):
      axis.plot(steps, values, color=colour, marker='o' if markers or
                len(steps) < 30 else None, markersize=4)
      if markers:
        best = len(values) - 1 - int(np.argmax(values[::-1]))  # the latest
        axis.plot([steps[best]], [values[best]], marker='*', markersize=12,
                  color=colour)
        axis.text(0.02, 0.9, 'best %.2f%% at step %d' % (values[best],
                                                         steps[best]),
                  transform=axis.transAxes, fontsize=8, va='top')
    else:
      axis.text(0.5, 0.5, 'no data', transform=axis.transAxes, ha='center',
                va='center', color='grey')
    axis.set_ylabel(title, fontsize=9)
    axis.grid(alpha=0.3)
  axes[-1].set_xlabel('training step')
  root = os.path.dirname(train_dir)
  fig.suptitle(os.path.basename(root))
  fig.tight_layout()
  output = output or os.path.join(root, RUN_PLOT_PNG)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  fig.savefig(output, dpi=100)
  plt.close(fig)
  return output, counts
