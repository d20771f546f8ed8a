"""Boundary mIoU (li_programs/evaluate/boundary_metrics.py) and the training
progress line."""

import os

import numpy as np
import pytest

from li_programs.evaluate import boundary_metrics as bm
from li_programs.checkpoints import checkpoint_check
from li_programs.evaluate import metrics
from libs.core import progress
from tools import boundary_miou

from helpers.paths import REPO_ROOT


def _square_label(size=21, low=5, high=15, value=1):
  label = np.zeros((size, size), np.int64)
  label[low:high, low:high] = value
  return label


def test_boundary_pixels_are_both_sides_of_a_label_change():
  label = _square_label()
  edges = bm.boundary_pixels(label)
  # Inner ring of the square and the ring just outside it, nothing else.
  expected = np.zeros_like(edges)
  expected[4:16, 4:16] = True
  expected[6:14, 6:14] = False
  expected[4, 4] = expected[4, 15] = expected[15, 4] = expected[15, 15] = False
  np.testing.assert_array_equal(edges, expected)
  assert not bm.boundary_pixels(np.zeros((5, 7))).any()  # no border at edges


def test_band_grows_with_width_by_euclidean_distance():
  label = _square_label(size=41, low=15, high=25)
  band0 = bm.boundary_band(label, 0)
  np.testing.assert_array_equal(band0, bm.boundary_pixels(label))
  band2 = bm.boundary_band(label, 2)
  band5 = bm.boundary_band(label, 5)
  assert band0.sum() < band2.sum() < band5.sum()
  assert np.all(band5[band2])
  # Centre column: the square spans rows 15..24; boundary rows 14, 15, 24,
  # 25; width 5 reaches rows 9..30 and the whole 10-px interior.
  column = band5[:, 20]
  assert column[9:31].all() and not column[:9].any() and not column[31:].any()
  # A corner is reached along the diagonal only within radius 5.
  assert band5[14 - 3, 14 - 3] and not band5[14 - 4, 14 - 4]
  assert not bm.boundary_band(np.ones((9, 9), int), 5).any()


def test_ignore_pixels_make_boundaries_but_are_not_scored():
  label = _square_label()
  label[label == 1] = 255  # an ignored blob: its border is a boundary
  band = bm.boundary_band(label, 1)
  assert band[4, 10] and band[5, 10]
  prediction = np.zeros_like(label)
  hist = bm.boundary_confusion_matrix(label, prediction, 2, 255, width=1)
  assert hist.sum() == np.sum(band & (label != 255))
  assert hist[0, 0] == hist.sum()


def test_boundary_miou_penalises_only_errors_near_borders():
  label = _square_label(size=41, low=10, high=30)
  eroded = np.zeros_like(label)
  eroded[12:28, 12:28] = 1  # prediction shrunk by 2 px on every side
  whole = metrics.metrics_from_hist(
      metrics.confusion_matrix(label, eroded, 2, 255))
  near = metrics.metrics_from_hist(
      bm.boundary_confusion_matrix(label, eroded, 2, 255, width=5))
  assert near.miou < whole.miou < 1.0
  # Every wrong pixel lies in the band, so the band holds all the errors.
  hist = bm.boundary_confusion_matrix(label, eroded, 2, 255, width=5)
  assert hist[1, 0] == np.sum((label == 1) & (eroded == 0))
  perfect = bm.boundary_confusion_matrix(label, label, 2, 255)
  assert metrics.metrics_from_hist(perfect).miou == 1.0


def test_accumulator_sums_images_and_handles_trailing_channel():
  acc = bm.BoundaryAccumulator(num_classes=3, ignore_label=255, width=3)
  label = _square_label(value=2)
  acc.add(label[..., None], label)
  acc.add(label, np.zeros_like(label))
  assert acc.num_images == 2
  assert acc.hist.sum() == 2 * label.size
  assert acc.metrics().acc == pytest.approx(
      (label.size + np.sum(label == 0)) / (2.0 * label.size))
  band = bm.boundary_band(label, 3)
  assert acc.boundary_hist.sum() == 2 * band.sum() < acc.hist.sum()
  # The 10x10 square lies wholly inside the 3-px band: found once, missed
  # once, in both matrices.
  assert acc.metrics().iou[2] == acc.boundary_metrics().iou[2] == 0.5


@pytest.mark.parametrize('bad', [-1, 2.5, True, 'five'])
def test_bad_width_is_a_clear_error(bad):
  with pytest.raises(ValueError, match='boundary width'):
    bm.boundary_band(_square_label(), bad)


def test_shape_mismatch_is_a_clear_error():
  with pytest.raises(ValueError, match='differ in shape'):
    bm.boundary_confusion_matrix(np.zeros((4, 4)), np.zeros((4, 5)), 2, 255)
  with pytest.raises(ValueError, match=r'\[H, W\]'):
    bm.boundary_band(np.zeros((2, 4, 4)), 1)


def test_training_progress_line_has_rate_and_eta():
  times = iter([100.0, 120.0, 130.0])
  log = progress.TrainingProgress(100, 0, clock=lambda: next(times))
  # 10 steps in 20 s: 0.5 steps/s, 90 steps left at that pace.
  assert log.line(10, 1.0) == 'step 10: loss = 1.0000 (0.50 steps/s), ETA 3:00'
  # 10 more steps in 10 s; over the run 20 steps in 30 s, 80 left.
  assert log.line(20, 0.9) == 'step 20: loss = 0.9000 (1.00 steps/s), ETA 2:00'
  assert progress.format_duration(3725) == '1:02:05'


def test_boundary_tool_finds_checkpoints_where_test_py_does(tmp_path):
  # --checkpoint_dir moves the train folder for test.py; the tool follows.
  config_file = os.path.join(REPO_ROOT, 'config', 'demo',
                             'liMnv2_liAspp_shapes.ini')
  with pytest.raises(checkpoint_check.CheckpointError,
                     match=r'model.ckpt-3: no checkpoint .*moved_train'):
    boundary_miou.main(['--config_file', config_file,
                        '--snapshot_root', str(tmp_path),
                        '--checkpoint_dir', str(tmp_path / 'moved_train'),
                        '--checkpoint_name', 'model.ckpt-3'])
