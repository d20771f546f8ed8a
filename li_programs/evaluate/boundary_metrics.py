"""mIoU restricted to a band around object boundaries (the "trimap" metric).

Lateral inhibition sharpens responses where a feature changes, so its gain
should show most near object boundaries. This module scores only the pixels
lying within ``width`` pixels (Euclidean distance) of a boundary of the
*ground-truth* label map, then reads the usual metrics off that confusion
matrix with ``li_programs.evaluate.metrics``.

A boundary pixel is a pixel whose 4-neighbourhood holds a different label
value. Ignore-label pixels take part in this test (datasets such as PASCAL
VOC and the synthetic shapes set draw their ignore band *on* the object
borders, so a class/ignore change is a boundary) but are never scored
themselves. The image border is not a boundary.
"""

import numpy as np
from scipy import ndimage

from li_programs.evaluate import metrics

DEFAULT_BOUNDARY_WIDTH = 5


def _check_width(width):
  if isinstance(width, bool) or not isinstance(width, (int, np.integer)) \
      or width < 0:
    raise ValueError('boundary width must be a non-negative integer number '
                     'of pixels, got %r' % (width,))


def _as_2d(label_map, what):
  array = np.asarray(label_map)
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if array.ndim != 2:
    raise ValueError('%s must be a [H, W] (or [H, W, 1]) label map, got '
                     'shape %s' % (what, array.shape))
  return array


def boundary_pixels(label_map):
  """Bool ``[H, W]``: pixels with a 4-neighbour of another label value."""
  label = _as_2d(label_map, 'label_map')
  edges = np.zeros(label.shape, dtype=bool)
  vertical = label[1:, :] != label[:-1, :]
  horizontal = label[:, 1:] != label[:, :-1]
  edges[1:, :] |= vertical
  edges[:-1, :] |= vertical
  edges[:, 1:] |= horizontal
  edges[:, :-1] |= horizontal
  return edges


def boundary_band(label_map, width=DEFAULT_BOUNDARY_WIDTH):
  """Bool ``[H, W]``: pixels within ``width`` px of a ground-truth boundary.

  ``width=0`` keeps the boundary pixels only. A map without any boundary
  (a single label value) gives an empty band.
  """
  _check_width(width)
  edges = boundary_pixels(label_map)
  if not edges.any():
    return edges
  if width == 0:
    return edges
  distance = ndimage.distance_transform_edt(~edges)
  return distance <= width


def boundary_confusion_matrix(labels, predictions, num_classes, ignore_label,
                              width=DEFAULT_BOUNDARY_WIDTH):
  """Confusion matrix of the pixels in the boundary band of ``labels``.

  Args:
    labels, predictions: ``[H, W]`` (or ``[H, W, 1]``) integer maps of one
      image, same shape.
    num_classes, ignore_label: as in ``metrics.confusion_matrix``.
    width: band half-width in pixels.

  Returns:
    int64 ``[num_classes, num_classes]`` matrix (rows truth, columns
    prediction) counting band pixels not carrying the ignore label.
  """
  labels = _as_2d(labels, 'labels')
  predictions = _as_2d(predictions, 'predictions')
  if labels.shape != predictions.shape:
    raise ValueError('labels and predictions differ in shape: %s vs %s'
                     % (labels.shape, predictions.shape))
  band = boundary_band(labels, width)
  return metrics.confusion_matrix(labels[band], predictions[band],
                                  num_classes, ignore_label)


class BoundaryAccumulator(object):
  """Sums the whole-image and boundary-band confusion matrices of a split.

      acc = BoundaryAccumulator(num_classes=5, ignore_label=255, width=5)
      for label, prediction in samples:
        acc.add(label, prediction)
      acc.metrics().miou, acc.boundary_metrics().miou
  """

  def __init__(self, num_classes, ignore_label,
               width=DEFAULT_BOUNDARY_WIDTH):
    _check_width(width)
    self.num_classes = int(num_classes)
    self.ignore_label = ignore_label
    self.width = int(width)
    self.hist = np.zeros((self.num_classes, self.num_classes), np.int64)
    self.boundary_hist = np.zeros_like(self.hist)
    self.num_images = 0

  def add(self, labels, predictions):
    self.hist += metrics.confusion_matrix(
        _as_2d(labels, 'labels'), _as_2d(predictions, 'predictions'),
        self.num_classes, self.ignore_label)
    self.boundary_hist += boundary_confusion_matrix(
        labels, predictions, self.num_classes, self.ignore_label, self.width)
    self.num_images += 1

  def _scored(self):
    return metrics.num_scored_classes(self.num_classes, self.ignore_label)

  def metrics(self):
    """SegMetrics over every valid pixel."""
    return metrics.metrics_from_hist(self.hist, self._scored())

  def boundary_metrics(self):
    """SegMetrics over the boundary band only."""
    return metrics.metrics_from_hist(self.boundary_hist, self._scored())
