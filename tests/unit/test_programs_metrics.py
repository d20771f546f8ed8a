"""Metrics from the confusion matrix, checked against plain per-pixel loops."""

import numpy as np
import pytest

from li_programs.evaluate import metrics


def _loop_hist(labels, preds, n, ignore):
  hist = np.zeros((n, n), dtype=np.int64)
  for t, p in zip(labels.ravel(), preds.ravel()):
    if t == ignore:
      continue
    if ignore == 0:
      t, p = t - 1, p - 1
      if p < 0:
        p = n - 1
    hist[t, p] += 1
  return hist


def _loop_metrics(labels, preds, classes, ignore):
  """Per-class IoU / accuracy by set counting, no confusion matrix."""
  valid = labels != ignore
  ious, accs, weights = [], [], []
  for c in classes:
    truth = (labels == c) & valid
    pred = (preds == c) & valid
    inter = np.sum(truth & pred)
    union = np.sum(truth | pred)
    if union:
      ious.append(inter / union)
      if truth.sum():
        weights.append((truth.sum(), inter / union))
    if truth.sum():
      accs.append(inter / truth.sum())
  acc = np.sum((labels == preds) & valid) / valid.sum()
  fw = sum(w * i for w, i in weights) / valid.sum()
  return acc, np.mean(accs), np.mean(ious), fw


def test_hist_matches_loop_with_ignore_255():
  rng = np.random.RandomState(0)
  labels = rng.randint(0, 5, size=(3, 17, 13))
  labels[rng.rand(*labels.shape) < 0.2] = 255
  preds = rng.randint(0, 5, size=labels.shape)
  hist = metrics.confusion_matrix(labels, preds, 5, 255)
  np.testing.assert_array_equal(hist, _loop_hist(labels, preds, 5, 255))
  assert hist.sum() == np.sum(labels != 255)


def test_metrics_match_set_counting():
  rng = np.random.RandomState(1)
  labels = rng.randint(0, 6, size=(40, 40))
  labels[:5] = 255
  # Class 5 is predicted but never labelled: IoU 0, must count in the mean.
  labels[labels == 5] = 4
  preds = np.where(rng.rand(40, 40) < 0.6, labels, rng.randint(0, 6, (40, 40)))
  preds[preds == 255] = 0
  hist, m = metrics.compute_metrics(labels, preds, 6, 255)
  acc, acc_cls, miou, fw = _loop_metrics(labels, preds, range(6), 255)
  assert m.acc == pytest.approx(acc)
  assert m.acc_cls == pytest.approx(acc_cls)
  assert m.miou == pytest.approx(miou)
  assert m.fwavacc == pytest.approx(fw)
  assert m.iou[5] == 0.0


def test_absent_class_is_nan_and_left_out_of_mean():
  labels = np.array([[0, 0, 1, 1]])
  preds = np.array([[0, 1, 1, 1]])
  _, m = metrics.compute_metrics(labels, preds, 4, 255)
  assert np.isnan(m.iou[2]) and np.isnan(m.iou[3])
  # IoU(0) = 1/2, IoU(1) = 2/3.
  assert m.miou == pytest.approx((0.5 + 2.0 / 3) / 2)
  assert m.acc == pytest.approx(0.75)


def test_ade20k_shift_and_class0_predictions():
  n = 4  # classes 0 (unlabelled), 1, 2, 3
  labels = np.array([0, 1, 1, 2, 3, 3, 1, 2])
  preds = np.array([2, 1, 0, 2, 0, 3, 1, 1])
  hist = metrics.confusion_matrix(labels, preds, n, 0)
  np.testing.assert_array_equal(hist, _loop_hist(labels, preds, n, 0))
  # hist[i, j]: true i+1 predicted j+1; class-0 predictions on label 1 and 3
  # land in the spare column of the right row.
  assert hist[0, 0] == 2 and hist[0, n - 1] == 1
  assert hist[2, n - 1] == 1 and hist[1, 1] == 1 and hist[1, 0] == 1
  assert hist[n - 1].sum() == 0
  assert hist.sum() == 7  # the unlabelled pixel is not counted
  m = metrics.metrics_from_hist(hist, metrics.num_scored_classes(n, 0))
  acc, acc_cls, miou, _ = _loop_metrics(labels, preds, [1, 2, 3], 0)
  assert m.acc == pytest.approx(acc)  # class-0 predictions count as wrong
  assert m.acc_cls == pytest.approx(acc_cls)
  assert m.miou == pytest.approx(miou)
  assert len(m.iou) == n - 1


def test_label_one_with_class0_prediction_does_not_crash():
  hist = metrics.confusion_matrix(np.array([1]), np.array([0]), 151, 0)
  assert hist.sum() == 1 and hist[0, 150] == 1


def test_bad_inputs_raise_clear_errors():
  with pytest.raises(ValueError, match='shape'):
    metrics.confusion_matrix(np.zeros((2, 3)), np.zeros((3, 2)), 3, 255)
  with pytest.raises(ValueError, match='label values'):
    metrics.confusion_matrix(np.array([7]), np.array([0]), 3, 255)
  with pytest.raises(ValueError, match='predictions'):
    metrics.confusion_matrix(np.array([1]), np.array([9]), 3, 255)


def test_empty_hist_gives_nan():
  m = metrics.metrics_from_hist(np.zeros((3, 3)))
  assert np.isnan(m.acc) and np.isnan(m.miou)


def _original_ade20k_miou(labels, preds, n):
  """The original's test.py as SPEC section 10 describes it: labels and
  predictions shifted down by one, flat index n * label + prediction over
  the labelled pixels, nanmean of the IoU of all n rows."""
  a = labels.ravel().astype(np.int64) - 1
  b = preds.ravel().astype(np.int64) - 1
  keep = (a >= 0) & (a < n)
  flat = n * a[keep] + b[keep]
  if flat.size and flat.min() < 0:
    raise ValueError('negative index: the original crashed here')
  hist = np.bincount(flat, minlength=n * n).reshape(n, n).astype(float)
  with np.errstate(divide='ignore', invalid='ignore'):
    iou = np.diag(hist) / (hist.sum(1) + hist.sum(0) - np.diag(hist))
  return np.nanmean(iou)


def test_original_ade20k_miou_on_a_hand_made_case():
  # Classes 0 (unlabelled) .. 3; a class-0 prediction on a pixel of class 3.
  labels = np.array([1, 2, 3, 2])
  preds = np.array([1, 2, 0, 2])
  hist = metrics.confusion_matrix(labels, preds, 4, 0)
  ours = metrics.metrics_from_hist(hist, 3).miou
  # Ours: IoU 1, 1, 0 over the three real classes.
  assert ours == pytest.approx(2.0 / 3.0)
  # The original booked it in row 1 (true class 2) and counted the spare
  # class with IoU 0: IoU 1, 2/3, nan, 0.
  assert metrics.original_ade20k_miou(hist) == pytest.approx(
      (1.0 + 2.0 / 3.0 + 0.0) / 3.0)
  assert metrics.original_ade20k_miou(hist) == pytest.approx(
      _original_ade20k_miou(labels, preds, 4))
  reported = metrics.reported_miou(hist, 0, ours)
  assert reported.headline == pytest.approx(5.0 / 9.0)
  assert reported.ours == pytest.approx(2.0 / 3.0)
  assert not reported.original_crashes


def test_original_ade20k_miou_matches_the_original_computation():
  rng = np.random.RandomState(0)
  for _ in range(20):
    labels = rng.randint(0, 7, size=300)
    preds = rng.randint(0, 7, size=300)
    preds[labels == 1] = np.maximum(preds[labels == 1], 1)
    hist = metrics.confusion_matrix(labels, preds, 7, 0)
    assert metrics.original_ade20k_miou(hist) == pytest.approx(
        _original_ade20k_miou(labels, preds, 7))


def test_reported_miou_without_class0_predictions_or_for_other_datasets():
  labels = np.array([1, 2, 3, 2])
  preds = np.array([1, 2, 3, 1])
  hist = metrics.confusion_matrix(labels, preds, 4, 0)
  ours = metrics.metrics_from_hist(hist, 3).miou
  assert metrics.reported_miou(hist, 0, ours) == (ours, None, False)
  hist = metrics.confusion_matrix(labels, preds, 4, 255)
  ours = metrics.metrics_from_hist(hist).miou
  assert metrics.reported_miou(hist, 255, ours) == (ours, None, False)


def test_reported_miou_where_the_original_crashed():
  labels = np.array([1, 2])
  preds = np.array([0, 2])
  with pytest.raises(ValueError, match='original crashed'):
    _original_ade20k_miou(labels, preds, 4)
  hist = metrics.confusion_matrix(labels, preds, 4, 0)
  ours = metrics.metrics_from_hist(hist, 3).miou
  assert metrics.original_ade20k_miou(hist) is None
  assert metrics.reported_miou(hist, 0, ours) == (ours, None, True)
