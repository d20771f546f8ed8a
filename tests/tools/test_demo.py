"""`make demo` / `make demo-compare` at a reduced size (runners/demo.sh).

Runs the real pipeline (dataset, TFRecords, train, validate, test, boundary
mIoU, LI figures, report) on 4 tiny images for 2 steps, then checks that
every output exists and is well formed, that a second run refuses to mix
its outputs with the first, and that --compare reuses the LI run and adds
the baseline.
"""
import csv
import json
import os
import re
import subprocess

import numpy as np
import pytest
import scipy.io
import tensorflow.compat.v1 as tf
from PIL import Image

from helpers.paths import REPO_ROOT
from tools import boundary_miou
from tools import demo_report

pytestmark = pytest.mark.slow

DEMO = os.path.join(REPO_ROOT, 'runners', 'demo.sh')
LI_NAME = 'liMnv2_liAspp_shapes'
BASE_NAME = 'mnv2_aspp_shapes'


def _run_demo(out, *args, **env_overrides):
  env = dict(os.environ)
  env.update({'DEMO_OUTPUT': out, 'DEMO_NUM_TRAIN': '4', 'DEMO_NUM_VAL': '2',
              'DEMO_SIZE': '33', 'DEMO_CROP': '33', 'DEMO_STEPS': '2',
              'DEMO_CHECKPOINT_STEPS': '1', 'TF_CPP_MIN_LOG_LEVEL': '2'})
  env.update(env_overrides)
  return subprocess.run(['bash', DEMO] + list(args) +
                        ['--train_batch_size=2'],
                        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=600)


def _png_ok(path):
  assert os.path.isfile(path), path
  with Image.open(path) as image:
    image.verify()
  with Image.open(path) as image:
    assert image.format == 'PNG' and min(image.size) > 16
    # Not a blank canvas.
    assert np.asarray(image.convert('L')).std() > 1.0, path


def _test_dir(out, name):
  test_root = os.path.join(out, 'snapshots', name, 'test')
  folders = os.listdir(test_root)
  assert len(folders) == 1 and folders[0].endswith('(best_val)'), folders
  return os.path.join(test_root, folders[0], 'eval_scale_1.0')


def _check_run(out, name):
  """Every file of one trained config; returns (miou, acc, boundary_miou)."""
  root = os.path.join(out, 'snapshots', name)
  train_log = open(os.path.join(out, 'logs', 'train_%s.log' % name)).read()
  assert re.search(r'^step 2: loss = \d+\.\d+ \(\d+\.\d+ steps/s\), ETA '
                   r'\d+:\d\d$', train_log, re.M), train_log
  val = scipy.io.loadmat(os.path.join(root, 'val', 'val_result.mat'))
  assert {'miou', 'ck_path'} <= set(val)
  # checkpoints 0 (written when training starts, as the original), 1, 2
  assert np.asarray(val['miou']).size == 3
  val_txt = open(os.path.join(root, 'val', 'val_result.txt')).read()
  assert re.search(r'^best: .+model\.ckpt-\d mIoU: \d+\.\d\d%$', val_txt,
                   re.M)

  # The kept checkpoints carry re-estimated batch-norm statistics (not the
  # initial 0 / 1) and still hold the optimiser slots and the global step.
  best = re.search(r'^best: (.+) mIoU: ', val_txt, re.M).group(1)
  reader = tf.train.load_checkpoint(best)
  names = reader.get_variable_to_shape_map()
  means = [n for n in names if n.endswith('concat_projection/BatchNorm/'
                                          'moving_mean')]
  assert len(means) == 1, sorted(names)[:20]
  assert np.abs(reader.get_tensor(means[0])).max() > 0
  assert any(n.endswith('/Adam') for n in names)
  assert reader.get_tensor('global_step') in (1, 2)
  assert 'batch-norm statistics of' in open(os.path.join(
      out, 'logs', 'recalibrate_bn_%s.log' % name)).read()

  test_dir = _test_dir(out, name)
  line = open(os.path.join(test_dir, 'test_result.txt')).read()
  match = re.match(r'^mIoU: (\d+\.\d\d)%, acc: (\d+\.\d\d)%\n$', line)
  assert match, line
  mat = scipy.io.loadmat(os.path.join(test_dir, 'test_result.mat'))
  assert {'hist_total', 'miou', 'acc', 'acc_cls', 'fwavacc'} <= set(mat)
  assert mat['hist_total'].shape == (5, 5)
  miou, acc = mat['miou'].item(), mat['acc'].item()
  assert float(match.group(1)) == pytest.approx(100 * miou, abs=0.006)
  _check_readable_results(root, test_dir, mat)
  plots = os.listdir(os.path.join(test_dir, 'plots'))
  assert len(plots) == 2 and all(p.endswith('_plot.png') for p in plots)
  for plot in plots:
    _png_ok(os.path.join(test_dir, 'plots', plot))

  bline = open(os.path.join(test_dir, boundary_miou.RESULT_TXT)).read()
  assert re.match(r'^mIoU: [\d.]+%, acc: [\d.]+%, boundary mIoU \(5 px\): '
                  r'[\d.]+%, boundary acc \(5 px\): [\d.]+%\n$', bline), bline
  bmat = scipy.io.loadmat(os.path.join(test_dir, boundary_miou.RESULT_MAT))
  assert {'miou', 'acc', 'boundary_miou', 'boundary_acc', 'boundary_width',
          'hist_total', 'hist_boundary', 'ck_path'} <= set(bmat)
  # The boundary tool scores the same predictions as test.py.
  np.testing.assert_array_equal(bmat['hist_total'], mat['hist_total'])
  assert 0 < bmat['hist_boundary'].sum() < bmat['hist_total'].sum()
  assert bmat['boundary_width'].item() == 5
  return miou, acc, bmat['boundary_miou'].item()


def _check_readable_results(root, test_dir, mat):
  """metrics.json, per_class_iou.csv and the confusion PNG of test.py and
  validate.py, and the run.json of every program."""
  metrics = json.load(open(os.path.join(test_dir, 'metrics.json')))
  assert metrics['miou'] == pytest.approx(mat['miou'].item())
  assert metrics['pixel_accuracy'] == pytest.approx(mat['acc'].item())
  assert [c['name'] for c in metrics['per_class']] == [
      'background', 'disc', 'square', 'triangle', 'cross']
  rows = list(csv.DictReader(open(os.path.join(test_dir,
                                               'per_class_iou.csv'))))
  assert [r['name'] for r in rows] == [c['name'] for c in
                                       metrics['per_class']]
  _png_ok(os.path.join(test_dir, 'confusion_matrix.png'))
  val = json.load(open(os.path.join(root, 'val', 'metrics.json')))
  assert len(val['checkpoints']) == 3 and val['best']['miou'] is not None
  assert os.path.isfile(os.path.join(root, 'val', 'per_class_iou.csv'))
  for folder, program in ((os.path.join(root, 'train'), 'train.py'),
                          (os.path.join(root, 'val'), 'validate.py'),
                          (test_dir, 'test.py')):
    record = json.load(open(os.path.join(folder, 'run.json')))
    assert record['program'] == program and record['exit_status'] == 0
    assert record['end_time'] and record['config']['dataset']


def _summary_value(text, row, column):
  for line in text.splitlines():
    if line.startswith(row):
      return re.findall(r'(\d+\.\d\d)%', line)[column]
  raise AssertionError('no row %r in\n%s' % (row, text))


def test_demo_pipeline_reduced(tmp_path):
  out = str(tmp_path / 'demo out')  # a space in the path on purpose
  result = _run_demo(out)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  stdout = result.stdout

  # Dataset and records.
  raw = os.path.join(out, 'dataset', 'raw')
  assert len(os.listdir(os.path.join(raw, 'JPEGImages'))) == 6
  records = os.listdir(os.path.join(out, 'dataset', 'tfrecord'))
  assert sorted(records) == ['train-00000-of-00002.tfrecord',
                             'train-00001-of-00002.tfrecord',
                             'val-00000-of-00002.tfrecord',
                             'val-00001-of-00002.tfrecord']

  miou, acc, boundary = _check_run(out, LI_NAME)
  for name in ('li_kernels.png', 'li_weight_distributions.png'):
    _png_ok(os.path.join(out, 'li_figures', name))
  table = open(os.path.join(out, 'li_figures', 'li_weights.txt')).read()
  # 3 backbone (li_backbone_option_mnv2 = f) + 3 LI-ASPP layers.
  assert table.count('/lateral_inhibition ') == 6, table
  for name in (demo_report.LEARNING_CURVE_PNG, demo_report.PREDICTIONS_PNG):
    _png_ok(os.path.join(out, 'figures', name))
  # predict.py on the val images, and the run plot.
  predictions = os.path.join(out, 'predictions')
  for name in ('val_00000', 'val_00001'):
    labels = np.asarray(Image.open(os.path.join(predictions, name + '.png')))
    assert labels.shape == (33, 33) and labels.max() < 5
    colours = Image.open(os.path.join(predictions, 'color', name + '.png'))
    assert colours.size == (33, 33) and colours.mode == 'RGB'
    assert os.path.isfile(os.path.join(predictions, 'overlay', name + '.jpg'))
  assert json.load(open(os.path.join(predictions, 'run.json')))[
      'exit_status'] == 0
  _png_ok(os.path.join(out, 'snapshots', LI_NAME, 'run_plot.png'))

  summary = open(os.path.join(out, demo_report.SUMMARY_TXT)).read()
  assert summary in stdout
  assert re.search(r'^LI-Convs demo finished in \d+ min \d\d s \(wall time\)',
                   summary, re.M)
  assert _summary_value(summary, 'mIoU', 0) == '%.2f' % (100 * miou)
  assert _summary_value(summary, 'pixel accuracy', 0) == '%.2f' % (100 * acc)
  assert _summary_value(summary, 'boundary mIoU (5 px)', 0) == \
      '%.2f' % (100 * boundary)
  for where in ('dataset', 'checkpoints', 'val results', 'test results',
                'boundary results', 'test plots', 'test metrics',
                'run plot', 'predict.py', 'LI figures', 'learning curve',
                'predictions', 'logs'):
    assert re.search(r'^\s+%s\s+%s' % (where, re.escape(out)), summary,
                     re.M), where
  assert '==> [8/8] summary' in stdout

  # A second run must not mix its outputs with the first.
  again = _run_demo(out)
  assert again.returncode == 2
  assert 'holds an earlier demo run' in again.stderr
  assert 'DEMO_FORCE=1' in again.stderr
  assert len(again.stderr.strip().splitlines()) == 1

  # --compare reuses the finished LI run and adds the baseline.
  compare = _run_demo(out, '--compare')
  assert compare.returncode == 0, (compare.stdout[-3000:] +
                                   compare.stderr[-3000:])
  assert 'Reusing the dataset and the LI-MNV2 + LI-ASPP run' in compare.stdout
  assert 'training LI-MNV2' not in compare.stdout
  assert '(the LI-MNV2 + LI-ASPP results were reused' in compare.stdout
  base_miou, _, base_boundary = _check_run(out, BASE_NAME)
  summary = open(os.path.join(out, demo_report.SUMMARY_TXT)).read()
  header = [l for l in summary.splitlines()
            if l.startswith(' ') and 'LI-MNV2 + LI-ASPP' in l][0]
  assert header.index('LI-MNV2 + LI-ASPP') < header.index('MNV2 + ASPP', 20)
  assert _summary_value(summary, 'mIoU', 0) == '%.2f' % (100 * miou)
  assert _summary_value(summary, 'mIoU', 1) == '%.2f' % (100 * base_miou)
  assert _summary_value(summary, 'boundary mIoU (5 px)', 1) == \
      '%.2f' % (100 * base_boundary)


def test_demo_refuses_foreign_folder_and_bad_settings(tmp_path):
  foreign = tmp_path / 'mine'
  foreign.mkdir()
  (foreign / 'notes.txt').write_text('keep me')
  result = _run_demo(str(foreign))
  assert result.returncode == 2
  assert 'is not a demo output folder' in result.stderr
  assert (foreign / 'notes.txt').read_text() == 'keep me'
  # DEMO_FORCE never deletes a folder the demo did not make.
  result = _run_demo(str(foreign), DEMO_FORCE='1')
  assert result.returncode == 2 and (foreign / 'notes.txt').exists()

  result = _run_demo(str(tmp_path / 'new'), DEMO_STEPS='ten')
  assert result.returncode == 2
  assert result.stderr.strip() == ('demo.sh: error: DEMO_STEPS must be a '
                                   "positive whole number, got 'ten'")
  assert not (tmp_path / 'new').exists()
