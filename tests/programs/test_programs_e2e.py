"""End to end: train (SIGTERM + resume, 2 clones), validate, test, FLOPs,
Adam LI-only fine-tuning from a checkpoint, and test.py against a confusion
matrix computed here from the raw label PNGs."""

import glob
import json
import os
import re
import signal

import numpy as np
import pytest
import scipy.io
import tensorflow.compat.v1 as tf
from PIL import Image

from helpers import programs as h
from helpers.paths import REFERENCE_GRAPHS_DIR
from libs.core import tf_compat
from li_programs.config import cli
from li_programs.report import result_files
from li_programs.checkpoints import train_checkpoints

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')

pytestmark = [pytest.mark.slow, pytest.mark.tf2]


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('programs'))
  records, raw, config = h.synthetic_setup(root)
  with open(os.path.join(raw, 'ImageSets', 'Segmentation', 'val.txt')) as f:
    val_names = f.read().split()
  labels = [np.array(Image.open(os.path.join(raw, 'SegmentationClass',
                                             n + '.png'))) for n in val_names]
  return dict(root=root, records=records, raw=raw, config=config,
              val_names=val_names, val_labels=labels)


def _train_dir(env, name='tiny', snap='snap'):
  return os.path.join(env['root'], snap, name, 'train')


def _event_tags(folder):
  tags = set()
  for path in glob.glob(os.path.join(folder, 'events.out.tfevents.*')):
    for event in tf.train.summary_iterator(path):
      tags.update(v.tag for v in event.summary.value)
  return tags


def _interrupt_training(env):
  """Starts train.py in another folder, SIGTERMs it after step 3."""
  return h.sigterm_when(
      [os.path.join(h.REPO_ROOT, 'train.py'),
       '--training_number_of_steps=1000', '--config_file', env['config']],
      lambda line: line.startswith('step 3:'), cwd=env['root'])


def test_train_interrupt_resume_validate_test(env, capsys):
  train_dir = _train_dir(env)
  status, output = _interrupt_training(env)
  assert status == 128 + signal.SIGTERM, output[-2000:]
  match = re.search(r'Interrupted by signal 15 at step (\d+); checkpoint '
                    r'saved', output)
  assert match, output[-2000:]
  stop_step = int(match.group(1))
  assert stop_step >= 3
  assert train_checkpoints.checkpoint_exists(
      os.path.join(train_dir, 'model.ckpt-%d' % stop_step))
  assert os.path.join(train_dir, 'model.ckpt-2') in \
      train_checkpoints.list_checkpoints(train_dir)
  assert re.search(r'step 2: loss = \d+\.\d+ \(\d+\.\d+ steps/s\)', output)

  # Resume the killed run (in-process, the same main() as the command line)
  # and write summaries this time.
  final = stop_step + 1
  assert train_prog.main(['--config_file', env['config'], '--num_clones=1',
                          '--training_number_of_steps=%d' % final,
                          '--save_summaries_steps=1',
                          '--save_summaries_images']) == 0
  out = capsys.readouterr().out
  assert 'Resuming from %s/model.ckpt-%d' % (train_dir, stop_step) in out
  assert 'step %d: loss' % final in out
  assert 'step %d:' % stop_step not in out
  assert tf.train.latest_checkpoint(train_dir).endswith('-%d' % final)
  tags = _event_tags(train_dir)
  assert {'total_loss', 'learning_rate', 'mean_li_weight'} <= tags
  assert any(t.startswith('losses/') for t in tags)
  assert any('li_weights' in t for t in tags)  # model-variable histograms
  assert any(t.startswith('samples/prediction') for t in tags)

  # Files validate.py must not delete: not listed in the checkpoint state.
  with open(os.path.join(train_dir, 'notes.txt'), 'w') as f:
    f.write('mine')
  with tf.Graph().as_default():
    tf.get_variable('x', [1])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      unlisted = tf.train.Saver().save(
          sess, os.path.join(train_dir, 'other.ckpt'), 7,
          write_state=False)

  listed = train_checkpoints.list_checkpoints(train_dir)
  assert len(listed) >= 3
  assert validate_prog.main(['--config_file=' + env['config']]) == 0
  val_dir = os.path.join(env['root'], 'snap', 'tiny', 'val')
  mat = scipy.io.loadmat(os.path.join(val_dir, 'val_result.mat'))
  paths, mious = result_files.read_val_results(val_dir)
  assert paths == listed and mious.shape == (len(listed),)
  assert np.all((mious >= 0) & (mious <= 1))
  assert 'miou' in mat and 'ck_path' in mat
  text = open(os.path.join(val_dir, 'val_result.txt')).read().splitlines()
  assert text[0] == '%s mIoU: %.2f%%' % (listed[0], 100 * mious[0])
  assert 'miou' in _event_tags(val_dir)
  # Ties: the first, as the original.
  best = listed[int(np.flatnonzero(mious == mious.max())[0])]
  kept = sorted({best, listed[-1]})
  assert sorted(train_checkpoints.list_checkpoints(train_dir)) == kept
  for path in listed:
    assert bool(train_checkpoints.checkpoint_files(path)) == (path in kept)
  assert os.path.exists(os.path.join(train_dir, 'notes.txt'))
  assert train_checkpoints.checkpoint_exists(unlisted)

  # test.py with the best-on-val checkpoint, multi-scale + flipped, plots
  # and per-image mIoU.
  capsys.readouterr()
  assert test_prog.main([
      '--config_file', env['config'], '--eval_scales=0.75,1.0',
      '--add_flipped_images', '--num_plots_to_save=2',
      '--save_every_frame_miou']) == 0
  out_dir = os.path.join(env['root'], 'snap', 'tiny', 'test',
                         os.path.basename(best) + '(best_val)',
                         'eval_scale_0.75_1.0')
  line = open(os.path.join(out_dir, 'test_result.txt')).read()
  assert re.match(r'^mIoU: \d+\.\d\d%, acc: \d+\.\d\d%\n$', line)
  mat = scipy.io.loadmat(os.path.join(out_dir, 'test_result.mat'))
  hist = mat['hist_total']
  expected_pixels = sum(np.sum(l != 255) for l in env['val_labels'])
  assert hist.shape == (5, 5) and hist.sum() == expected_pixels
  with np.errstate(invalid='ignore', divide='ignore'):
    iou = np.diag(hist) / (hist.sum(0) + hist.sum(1) - np.diag(hist))
  assert mat['miou'].item() == pytest.approx(np.nanmean(iou))
  assert mat['acc'].item() == pytest.approx(np.trace(hist) / hist.sum())
  assert line.startswith('mIoU: %.2f%%' % (100 * np.nanmean(iou)))
  assert mat['test_mious'].size == h.NUM_VAL
  assert result_files._as_str_list(mat['test_image_names']) == env['val_names']
  plots = sorted(os.listdir(os.path.join(out_dir, 'plots')))
  assert len(plots) == 2
  assert all(p.endswith('_plot.png') and p[:-len('_plot.png')] in
             env['val_names'] for p in plots)
  assert 'images/s' in capsys.readouterr().err

  # FLOPs / params mode writes next to the results and tests nothing.
  assert test_prog.main(['--config_file', env['config'],
                         '--calculate_model_flops_and_params']) == 0
  flops_file = os.path.join(os.path.dirname(out_dir), 'eval_scale_1.0',
                            'model_flops_params.txt')
  flops, params = [int(v) for v in re.findall(
      r'\d+', open(flops_file).read())]
  assert flops > 10 ** 7
  record = json.load(open(os.path.join(os.path.dirname(flops_file),
                                       'run.json')))
  assert '--calculate_model_flops_and_params' in record['arguments']
  reference = os.path.join(REFERENCE_GRAPHS_DIR,
                           'ADE20K__liMnv2_liAspp__test.json')
  # Same network as the published ADE20K one, with 5 instead of 151
  # classes in the 256-channel 1x1 logits conv (weights + biases).
  ref = json.load(open(reference))['trainable_params']
  assert params == ref - 257 * 151 + 257 * 5


def _model_checkpoints(env):
  """Two checkpoints of the tiny model built here: seeded random weights,
  and 'known' weights that make every pixel predict class 3."""
  from li_programs.config import config as config_lib
  from li_models import model_config
  from li_models import model

  cfg = config_lib.load_config(env['config'], 'test')
  options = model_config.model_options_from_config(cfg, 5, [65, 65])
  paths = {}
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    images = tf.placeholder(tf.float32, [1, 65, 65, 3])
    model.predict_labels(images, options)
    saver = tf.train.Saver()
    for kind in ('random', 'known'):
      os.makedirs(os.path.join(env['root'], 'init', kind), exist_ok=True)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      paths['random'] = saver.save(
          sess, os.path.join(env['root'], 'init', 'random', 'model.ckpt'))
      assigns = []
      for var in tf.global_variables():
        value = np.zeros(var.shape.as_list(), np.float32)
        if var.op.name == 'logits/semantic/biases':
          value[3] = 1.0
        elif var.op.name.endswith('moving_variance'):
          value[:] = 1.0
        assigns.append(tf.assign(var, value))
      sess.run(assigns)
      paths['known'] = saver.save(
          sess, os.path.join(env['root'], 'init', 'known', 'model.ckpt'))
  return paths


@pytest.fixture(scope='module')
def model_checkpoints(env):
  return _model_checkpoints(env)


def test_known_weights_reproduce_confusion_matrix(env, model_checkpoints):
  assert test_prog.main(['--config_file', env['config'], '--checkpoint_path',
                         model_checkpoints['known']]) == 0
  out_dir = os.path.join(env['root'], 'snap', 'tiny', 'test', 'model.ckpt',
                         'eval_scale_1.0')
  hist = scipy.io.loadmat(os.path.join(out_dir, 'test_result.mat'))[
      'hist_total']
  expected = np.zeros((5, 5))
  for label in env['val_labels']:
    for cls in range(5):
      expected[cls, 3] += np.sum(label == cls)
  np.testing.assert_array_equal(hist, expected)
  acc = expected[3, 3] / expected.sum()
  assert open(os.path.join(out_dir, 'test_result.txt')).read() == \
      'mIoU: %.2f%%, acc: %.2f%%\n' % (
          100 * expected[3, 3] / expected[:, 3].sum() / 5, 100 * acc)


def test_inference_engines_score_alike(env, model_checkpoints, tmp_path,
                                      capsys):
  """test.py on the LI model with random weights: the same confusion matrix
  in TensorFlow and in TensorFlow Lite (2.x); auto keeps a split this short
  in TensorFlow and says why; 1.15 refuses tflite in one line and runs auto
  in TensorFlow."""
  def hist_of(engine):
    out_dir = str(tmp_path / engine)
    status = test_prog.main([
        '--config_file', env['config'], '--checkpoint_path',
        model_checkpoints['random'], '--test_resdir', out_dir,
        '--inference_engine=' + engine])
    assert status == 0
    return scipy.io.loadmat(os.path.join(out_dir, 'test_result.mat'))[
        'hist_total']

  session = hist_of('session')
  assert np.count_nonzero(session.sum(axis=0)) > 1  # several classes predicted
  capsys.readouterr()
  np.testing.assert_array_equal(hist_of('auto'), session)
  auto_err = capsys.readouterr().err
  assert 'inference on TensorFlow Lite' not in auto_err
  if tf_compat.tensorflow_major() >= 2:
    assert re.search(r'test\.py: note: \d+ images?: the model runs in '
                     r'TensorFlow, '
                     r'as TensorFlow Lite repays its conversion from about '
                     r'\d+ images of this model; --inference_engine=tflite '
                     r'forces it', auto_err), auto_err
    np.testing.assert_array_equal(hist_of('tflite'), session)
    assert 'test.py: note: inference on TensorFlow Lite (XNNPACK' in \
        capsys.readouterr().err
  else:
    assert 'TensorFlow Lite' not in auto_err
    status = cli.run_program('test.py', test_prog.main, [
        '--config_file', env['config'], '--checkpoint_path',
        model_checkpoints['random'], '--inference_engine=tflite'])
    assert status == 2
    assert capsys.readouterr().err.strip().endswith(
        'inference_engine = tflite: it needs TensorFlow 2.x (XNNPACK '
        'kernels); this is TensorFlow %s; use session or auto'
        % tf.version.VERSION)


def test_adam_li_only_finetune_from_checkpoint(env, model_checkpoints,
                                               capsys):
  init = model_checkpoints['random']
  snap = os.path.join(env['root'], 'snap_adam')
  assert train_prog.main([
      '--config_file', env['config'], '--snapshot_root', snap,
      '--optimizer=adam', '--adam_learning_rate=0.05', '--num_clones=1',
      '--training_number_of_steps=2', '--finetune_li_weight_only',
      '--tf_initial_checkpoint', init, '--noinitialize_last_layer',
      '--top_k_percent_pixels=0.5', '--hard_example_mining_step=1']) == 0
  assert 'Initialised' in capsys.readouterr().out
  final = tf.train.load_checkpoint(
      tf.train.latest_checkpoint(os.path.join(snap, 'tiny', 'train')))
  start = tf.train.load_checkpoint(init)
  names = final.get_variable_to_shape_map()
  li = [n for n in names if n.endswith('/li_weights')]
  adam_slots = [n for n in names if n.endswith('/Adam')]
  assert li and sorted(s[:-len('/Adam')] for s in adam_slots) == sorted(li)
  changed = [n for n in li
             if not np.array_equal(final.get_tensor(n), start.get_tensor(n))]
  assert changed, 'no LI weight was trained'
  for name in li:
    value = final.get_tensor(name)
    assert value.min() >= 0.0 and value.max() <= 1.0
  # Non-LI trainable weights come from the init checkpoint and stay frozen;
  # the excluded last layers are freshly initialised instead.
  for name in ('MobilenetV2/Conv/weights',
               'MobilenetV2/expanded_conv_3/project/weights'):
    np.testing.assert_array_equal(final.get_tensor(name),
                                  start.get_tensor(name))
  assert not np.array_equal(final.get_tensor('logits/semantic/weights'),
                            start.get_tensor('logits/semantic/weights'))


def test_original_folder_flags(env, model_checkpoints, tmp_path, capsys):
  """validate.py reads --checkpoint_dir and writes --val_logdir; test.py
  finds the best checkpoint through them and writes under --test_logdir,
  or into --test_resdir when given."""
  import shutil
  ckpt_dir = tmp_path / 'ckpts'
  ckpt_dir.mkdir()
  for path in glob.glob(model_checkpoints['known'] + '.*'):
    shutil.copy(path, str(ckpt_dir / os.path.basename(path).replace(
        'model.ckpt', 'model.ckpt-3')))
  checkpoint = str(ckpt_dir / 'model.ckpt-3')
  tf.train.update_checkpoint_state(str(ckpt_dir), checkpoint)
  val_dir, test_dir = str(tmp_path / 'val'), str(tmp_path / 'test')
  assert validate_prog.main([
      '--config_file', env['config'], '--checkpoint_dir', str(ckpt_dir),
      '--val_logdir', val_dir]) == 0
  assert result_files.read_val_results(val_dir)[0] == [checkpoint]
  assert test_prog.main([
      '--config_file', env['config'], '--checkpoint_dir', str(ckpt_dir),
      '--val_logdir', val_dir, '--test_logdir', test_dir]) == 0
  assert os.path.isfile(os.path.join(
      test_dir, 'model.ckpt-3(best_val)', 'eval_scale_1.0', 'test_result.txt'))
  res_dir = str(tmp_path / 'res')
  assert test_prog.main([
      '--config_file', env['config'], '--checkpoint_dir', str(ckpt_dir),
      '--checkpoint_name', 'model.ckpt-3', '--test_resdir', res_dir]) == 0
  assert sorted(os.listdir(res_dir)) == [
      'confusion_matrix.png', 'metrics.json', 'per_class_iou.csv',
      'run.json', 'test_result.mat', 'test_result.txt']
  assert not os.path.exists(os.path.join(env['root'], 'snap', 'tiny',
                                         'test', 'model.ckpt-3'))
