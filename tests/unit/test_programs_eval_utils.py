"""Result files, output names and checkpoint bookkeeping (li_programs)."""

import os

import numpy as np
import pytest
import scipy.io
import tensorflow.compat.v1 as tf

from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import train_checkpoints
from li_programs.evaluate import evaluation
from li_programs.report import result_files
from li_programs.runtime import run_folders
from li_programs.evaluate import metrics
from li_programs.report import plot_fn

pytestmark = pytest.mark.tf2


def _save_checkpoints(train_dir, steps):
  with tf.Graph().as_default():
    tf.get_variable('v', [2])
    saver = tf.train.Saver(max_to_keep=10)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return [saver.save(sess, os.path.join(train_dir, 'model.ckpt'), s)
              for s in steps]


def test_names_and_layout(tmp_path):
  dirs = run_folders.output_dirs(str(tmp_path), 'liMnv2_liAspp')
  assert dirs.train == os.path.join(str(tmp_path), 'liMnv2_liAspp', 'train')
  assert dirs.val.endswith('liMnv2_liAspp/val')
  assert run_folders.eval_scale_dirname([1.0]) == 'eval_scale_1.0'
  assert run_folders.eval_scale_dirname([0.5, 0.75, 1]) == (
      'eval_scale_0.5_0.75_1.0')
  assert run_folders.test_output_dir(
      '/t', '/x/train/model.ckpt-30', [1.0], True) == (
          '/t/model.ckpt-30(best_val)/eval_scale_1.0')
  assert train_checkpoints.global_step_of('/a/model.ckpt-1264') == 1264
  assert train_checkpoints.global_step_of('/a/model.ckpt') is None
  assert result_files.safe_image_name(b'dir/img 01.jpg') == 'img_01'
  with pytest.raises(ValueError, match='snapshot_root'):
    run_folders.output_dirs('', 'x')


def test_prune_deletes_only_checkpoints_of_the_run(tmp_path):
  train_dir = str(tmp_path)
  paths = _save_checkpoints(train_dir, [1, 2, 3, 10])
  # Another program's checkpoint and other files are never touched.
  stray = tmp_path / 'other.ckpt-99.index'
  stray.write_text('not the trainer\'s')
  other = tmp_path / 'notes.txt'
  other.write_text('keep me')
  assert train_checkpoints.list_checkpoints(train_dir) == paths
  deleted = train_checkpoints.prune_checkpoints(train_dir,
                                                keep=[paths[1], paths[3]])
  assert sorted(set(os.path.basename(d).split('.')[1] for d in deleted)) == \
      ['ckpt-1', 'ckpt-3']
  assert not train_checkpoints.checkpoint_files(paths[0])
  assert not train_checkpoints.checkpoint_files(paths[2])
  assert train_checkpoints.checkpoint_exists(paths[1])
  assert train_checkpoints.checkpoint_exists(paths[3])
  # model.ckpt-1's removal must not touch model.ckpt-10.
  assert len(train_checkpoints.checkpoint_files(paths[3])) == 3
  assert stray.exists() and other.exists()
  assert train_checkpoints.list_checkpoints(train_dir) == [paths[1], paths[3]]
  assert tf.train.latest_checkpoint(train_dir) == paths[3]


def test_list_checkpoints_without_state(tmp_path):
  assert train_checkpoints.list_checkpoints(str(tmp_path / 'missing')) == []
  assert train_checkpoints.list_checkpoints(str(tmp_path)) == []


def test_val_results_round_trip_and_best(tmp_path):
  val = str(tmp_path / 'val')
  paths = ['/s/train/model.ckpt-5', '/s/train/model.ckpt-10',
           '/s/train/model.ckpt-15']
  result_files.write_val_results(val, paths, [0.25, 0.5, 0.125])
  got_paths, mious = result_files.read_val_results(val)
  assert got_paths == paths
  np.testing.assert_allclose(mious, [0.25, 0.5, 0.125])
  assert result_files.best_val_checkpoint(val) == paths[1]
  text = open(os.path.join(val, 'val_result.txt')).read().splitlines()
  assert text[1] == '/s/train/model.ckpt-10 mIoU: 50.00%'
  assert text[-1] == 'best: /s/train/model.ckpt-10 mIoU: 50.00%'
  # Ties: the first, as the original.
  assert result_files.best_index([0.5, 0.7, 0.7, 0.1]) == 1
  assert result_files.best_index([np.nan, 0.2]) == 1
  assert result_files.best_index([np.nan]) is None
  with pytest.raises(checkpoint_check.CheckpointError, match='validate.py'):
    result_files.best_val_checkpoint(str(tmp_path / 'none'))


def test_test_results_files(tmp_path):
  labels = np.array([[0, 1], [1, 2]])
  preds = np.array([[0, 1], [2, 2]])
  hist, m = metrics.compute_metrics(labels, preds, 3, 255)
  out = str(tmp_path / 'o')
  result_files.write_test_results(out, hist, m, [0.5, 0.75], ['a', 'b'])
  assert open(os.path.join(out, 'test_result.txt')).read() == \
      'mIoU: %.2f%%, acc: 75.00%%\n' % (100 * m.miou)
  mat = scipy.io.loadmat(os.path.join(out, 'test_result.mat'))
  np.testing.assert_array_equal(mat['hist_total'], hist)
  for key in ('miou', 'acc', 'acc_cls', 'fwavacc'):
    assert mat[key].item() == pytest.approx(getattr(m, key))
  np.testing.assert_allclose(mat['test_mious'].ravel(), [0.5, 0.75])
  assert result_files._as_str_list(mat['test_image_names']) == ['a', 'b']
  result_files.write_test_results(out, hist, m)
  assert 'test_mious' not in scipy.io.loadmat(
      os.path.join(out, 'test_result.mat'))


def test_plot_colours_and_file(tmp_path):
  palette = plot_fn.class_palette(5)
  assert palette.shape == (5, 3) and len({tuple(c) for c in palette}) == 5
  rgb = plot_fn.colorize(np.array([[0, 4], [255, 2]]), palette, 255)
  np.testing.assert_array_equal(rgb[1, 0], [0, 0, 0])
  np.testing.assert_array_equal(rgb[0, 1], palette[4])
  path = plot_fn.save_plot(str(tmp_path / 'p' / 'x_plot.png'),
                           np.full((9, 9, 3), 100.0), np.zeros((9, 9), int),
                           np.ones((9, 9, 1), int), 5, 255, 'mIoU 1%')
  from PIL import Image
  img = Image.open(path)
  assert img.size[0] > 2 * img.size[1]  # three panels side by side


def test_progress_reports_images_per_second(capsys):
  bar = evaluation.progress_bar(4, 'eval')
  bar.update(2)
  bar.close()
  err = capsys.readouterr().err
  assert '2/4' in err and 'images/s' in err


def test_result_files_carry_our_miou_beside_the_original(tmp_path):
  hist = metrics.confusion_matrix(np.array([1, 2, 3, 2]),
                                  np.array([1, 2, 0, 2]), 4, 0)
  seg = metrics.metrics_from_hist(hist, 3)
  reported = metrics.reported_miou(hist, 0, seg.miou)
  out = str(tmp_path / 'o')
  result_files.write_test_results(out, hist,
                                  seg._replace(miou=reported.headline),
                                  miou_ours=reported.ours)
  text = open(os.path.join(out, 'test_result.txt')).read()
  assert text == ("mIoU: 55.56%, acc: 75.00% (mIoU by the original's "
                  'computation; 66.67% without its spare class)\n')
  mat = scipy.io.loadmat(os.path.join(out, 'test_result.mat'))
  assert mat['miou'].item() == pytest.approx(5.0 / 9.0)
  assert mat['miou_ours'].item() == pytest.approx(2.0 / 3.0)
  val = str(tmp_path / 'val')
  result_files.write_val_results(val, ['/t/model.ckpt-1', '/t/model.ckpt-2'],
                                 [5.0 / 9.0, 0.5],
                                 {'/t/model.ckpt-1': 2.0 / 3.0})
  lines = open(os.path.join(val, 'val_result.txt')).read().splitlines()
  assert lines[0] == ("/t/model.ckpt-1 mIoU: 55.56% (the original's "
                      'computation; 66.67% without its spare class)')
  assert lines[1] == '/t/model.ckpt-2 mIoU: 50.00%'
  assert result_files.read_val_mious_ours(val) == {
      '/t/model.ckpt-1': pytest.approx(2.0 / 3.0)}
