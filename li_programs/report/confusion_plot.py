"""The confusion matrix of test.py as a PNG (``confusion_matrix.png``).

Rows are the true classes, columns the predicted ones, each row divided by
its pixel count, so a cell is the share of that class's pixels predicted as
the column's class (the diagonal is the class accuracy), on a square-root
colour scale so that confusions of a few per cent stay visible.  Classes are
named on both axes; with up to 30 classes every cell also prints its
percentage.
The figure grows with the number of classes (a 151-class ADE20K matrix is
about 2300 pixels square) so that every name stays legible.
"""
import os

import numpy as np

from li_programs.report import pyplot

CONFUSION_PNG = 'confusion_matrix.png'
_ANNOTATE_UP_TO = 30


def row_normalised(hist, num_rows):
  """``hist[:num_rows]`` with each row divided by its sum (0 for empty
  rows), as float64."""
  hist = np.asarray(hist, dtype=np.float64)[:num_rows]
  totals = hist.sum(axis=1, keepdims=True)
  with np.errstate(invalid='ignore', divide='ignore'):
    normalised = np.where(totals > 0, hist / np.maximum(totals, 1), 0.0)
  return normalised


def save_confusion_png(path, hist, row_names, column_names, title=None):
  """Draws the row-normalised matrix.

  Args:
    path: the PNG to write (its folder is created).
    hist: the confusion matrix, rows = truth, columns = prediction.
    row_names: names of the first ``len(row_names)`` rows (the scored
      classes).
    column_names: names of the columns (one per column of ``hist``).
    title: optional figure title.
  """
  plt = pyplot.pyplot()
  from matplotlib import colors

  matrix = row_normalised(hist, len(row_names))
  num_rows, num_cols = matrix.shape
  if num_cols != len(column_names):
    raise ValueError('confusion matrix has %d columns but %d column names'
                     % (num_cols, len(column_names)))
  size = max(num_rows, num_cols)
  cell = 0.16 if size > _ANNOTATE_UP_TO else 0.55
  font = 6 if size > 60 else (8 if size > _ANNOTATE_UP_TO else 9)
  side = max(4.0, cell * size + 2.5)
  fig, axis = plt.subplots(figsize=(side + 1.2, side))
  # A square-root colour scale, so that confusions of a few per cent show.
  image = axis.imshow(matrix, cmap='Blues', interpolation='nearest',
                      norm=colors.PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0),
                      aspect='auto')
  axis.set_xticks(np.arange(num_cols))
  axis.set_yticks(np.arange(num_rows))
  if size > _ANNOTATE_UP_TO:
    axis.set_xticklabels(column_names, rotation=90, fontsize=font)
  else:
    axis.set_xticklabels(column_names, rotation=45, ha='right',
                         fontsize=font)
  axis.set_yticklabels(row_names, fontsize=font)
  axis.set_xlabel('predicted class')
  axis.set_ylabel('true class')
  if size <= _ANNOTATE_UP_TO:
    for row in range(num_rows):
      for col in range(num_cols):
        value = matrix[row, col]
        if value >= 0.005:
          axis.text(col, row, '%.0f' % (100 * value), ha='center',
                    va='center', fontsize=font - 1,
                    color='white' if value > 0.4 else 'black')
  colorbar = fig.colorbar(image, ax=axis, fraction=0.04, pad=0.02)
  colorbar.set_label('share of the true class\'s pixels' + (
      ' (numbers in %)' if size <= _ANNOTATE_UP_TO else ''))
  if title:
    axis.set_title(title)
  folder = os.path.dirname(path)
  if folder:
    os.makedirs(folder, exist_ok=True)
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)
  return path
