"""Segmentation metrics computed from a confusion matrix.

The confusion matrix ``hist`` is ``num_classes x num_classes`` with rows
indexing the true class and columns the predicted class. Pixels whose label
equals ``ignore_label`` are not counted.

ADE20K-style datasets (``ignore_label == 0``) keep class 0 as "unlabelled".
Labels and predictions are shifted down by one before counting, so
``hist[i, j]`` counts true class ``i + 1`` predicted as ``j + 1``; the last
row and column then belong to no real class.

Deviation from the published code, on purpose: there a prediction of class 0
on a labelled pixel either crashed (label 1) or was booked against the wrong
true class. Here such a prediction is counted as *wrong* for its true class
and is booked in the spare last column (``hist[i, num_classes - 1]``). The
spare class is left out of the per-class metrics (mIoU, class accuracy), so
it lowers pixel accuracy and the IoU of the true class as a mistake should,
without inventing an extra class with IoU 0.

The published ADE20K figures are the original's, so the programs report the
original's mIoU as the headline (``reported_miou``) and this one beside it
where the two differ: the original booked a class-0 prediction on a pixel of
true class ``t`` in row ``t - 2`` of the spare column and averaged the IoU of
all ``num_classes`` rows, the spare class (IoU 0 once its column is
non-empty) included.
"""

import collections

import numpy as np


SegMetrics = collections.namedtuple(
    'SegMetrics', ['acc', 'acc_cls', 'miou', 'fwavacc', 'iou'])


def _check_num_classes(num_classes):
  if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
    raise ValueError('num_classes must be a positive integer, got %r'
                     % (num_classes,))


def confusion_matrix(labels, predictions, num_classes, ignore_label):
  """Returns the int64 confusion matrix of one or many label maps.

  Args:
    labels: integer array of ground-truth class ids (any shape).
    predictions: integer array of predicted class ids, same shape.
    num_classes: number of classes of the dataset (including class 0).
    ignore_label: label value excluded from counting. ``0`` switches on the
      ADE20K shift described in the module docstring.

  Raises:
    ValueError: shapes differ, or a label/prediction is out of range.
  """
  _check_num_classes(num_classes)
  labels = np.asarray(labels)
  predictions = np.asarray(predictions)
  if labels.shape != predictions.shape:
    # Tolerate a trailing singleton channel on either side.
    labels = np.squeeze(labels)
    predictions = np.squeeze(predictions)
    if labels.shape != predictions.shape:
      raise ValueError('labels and predictions differ in shape: %s vs %s'
                       % (labels.shape, predictions.shape))
  labels = labels.astype(np.int64).ravel()
  predictions = predictions.astype(np.int64).ravel()

  valid = labels != ignore_label
  labels = labels[valid]
  predictions = predictions[valid]
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError('label values must lie in [0, %d) or equal the ignore '
                     'label %d; found %d..%d' % (num_classes, ignore_label,
                                                 labels.min(), labels.max()))
  if predictions.size and (predictions.min() < 0 or
                           predictions.max() >= num_classes):
    raise ValueError('predictions must lie in [0, %d); found %d..%d'
                     % (num_classes, predictions.min(), predictions.max()))

  if ignore_label == 0:
    labels = labels - 1
    predictions = predictions - 1
    # A class-0 ("unlabelled") prediction on a labelled pixel is a mistake;
    # book it in the spare last column (see module docstring).
    predictions[predictions < 0] = num_classes - 1

  flat = labels * num_classes + predictions
  counts = np.bincount(flat, minlength=num_classes * num_classes)
  return counts.reshape(num_classes, num_classes).astype(np.int64)


def num_scored_classes(num_classes, ignore_label):
  """Number of leading rows of the matrix that are real classes."""
  return num_classes - 1 if ignore_label == 0 else num_classes


def metrics_from_hist(hist, num_valid_classes=None):
  """Computes the four standard metrics from a confusion matrix.

  Args:
    hist: square confusion matrix, rows = truth, columns = prediction.
    num_valid_classes: per-class metrics (class accuracy, IoU) use only the
      first ``num_valid_classes`` classes; defaults to all of them. Use
      ``num_scored_classes(num_classes, ignore_label)``.

  Returns:
    SegMetrics(acc, acc_cls, miou, fwavacc, iou): pixel accuracy, mean class
    accuracy, mean IoU (nanmean over classes), frequency-weighted IoU, and
    the per-class IoU array (NaN for classes never labelled nor predicted).
    All NaN when the matrix is empty.
  """
  hist = np.asarray(hist, dtype=np.float64)
  if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
    raise ValueError('hist must be a square matrix, got shape %s'
                     % (hist.shape,))
  n = hist.shape[0] if num_valid_classes is None else int(num_valid_classes)
  total = hist.sum()
  diag = np.diag(hist)
  truth = hist.sum(axis=1)
  pred = hist.sum(axis=0)
  with np.errstate(divide='ignore', invalid='ignore'):
    acc = diag.sum() / total if total > 0 else np.nan
    cls_acc = diag / truth
    iou = diag / (truth + pred - diag)
  iou = iou[:n]
  cls_acc = cls_acc[:n]
  acc_cls = _nanmean(cls_acc)
  miou = _nanmean(iou)
  freq = truth[:n] / total if total > 0 else np.zeros(n)
  seen = freq > 0
  fwavacc = float((freq[seen] * iou[seen]).sum()) if total > 0 else np.nan
  return SegMetrics(float(acc), acc_cls, miou, fwavacc, iou)


def _nanmean(values):
  values = np.asarray(values, dtype=np.float64)
  finite = values[~np.isnan(values)]
  return float(finite.mean()) if finite.size else float('nan')


def compute_metrics(labels, predictions, num_classes, ignore_label):
  """Confusion matrix and metrics of one label map (or a batch) at once."""
  hist = confusion_matrix(labels, predictions, num_classes, ignore_label)
  return hist, metrics_from_hist(
      hist, num_scored_classes(num_classes, ignore_label))


# headline: the mIoU to report (the original's figure where it has one);
# ours: this module's mIoU when it differs from the headline, else None;
# original_crashes: the original's test.py stopped on this matrix (a class-0
# prediction on a pixel labelled 1), so the headline is ours.
ReportedMiou = collections.namedtuple(
    'ReportedMiou', ['headline', 'ours', 'original_crashes'])


def original_ade20k_miou(hist):
  """The mIoU the original's test.py computed for an ``ignore_label == 0``
  matrix of ``confusion_matrix``, or None where it crashed.

  The original's matrix is this one with the spare column moved one row up
  (a class-0 prediction on true class ``t`` lands in row ``t - 2``; for
  ``t = 1`` its negative index crashed), and its mIoU is the nanmean of the
  IoU of every row, the spare class included.
  """
  hist = np.asarray(hist, dtype=np.float64)
  spare = hist.shape[0] - 1
  if hist[0, spare] > 0:
    return None
  original = hist.copy()
  original[:spare, spare] = hist[1:, spare]
  original[spare, spare] = 0
  return metrics_from_hist(original).miou


ORIGINAL_CRASH_NOTE = (
    "note: a class-0 prediction fell on a pixel labelled 1, where the "
    "original's test.py stopped with an error; the mIoU shown is this "
    "project's")


def reported_miou(hist, ignore_label, miou):
  """ReportedMiou of a matrix whose own mIoU (``metrics_from_hist``) is
  ``miou``."""
  if ignore_label != 0:
    return ReportedMiou(miou, None, False)
  original = original_ade20k_miou(hist)
  if original is None:
    return ReportedMiou(miou, None, True)
  if original == miou or (np.isnan(original) and np.isnan(miou)):
    return ReportedMiou(miou, None, False)
  return ReportedMiou(original, miou, False)
