"""A checkpoint written by train.py's code restores into test.py's eval
graph for the model of every shipped config (at a 65x65 crop).

Configs whose networks are identical (same ModelOptions apart from the LI
weight initial ranges, which create no variables) share one run; the
li_mobilenet_v2 + LI-ASPP network of ADE20K is the tiny config's network and
is trained and tested by test_programs_e2e.py, which is asserted here.
"""

import glob
import os

import pytest

from helpers import programs as h
from li_programs.config import config as config_lib
from li_models import model_config
from li_programs.train import train_loop
from li_programs.train import training_graph

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

test_prog = h.load_program('test')

SHIPPED = sorted(glob.glob(os.path.join(h.REPO_ROOT, 'config', '*', '*.ini')))


def _overrides(records):
  return ['--dataset=synthetic_shapes', '--dataset_dir', records,
          '--train_split=train', '--val_split=val', '--test_split=val',
          '--tf_initial_checkpoint=none', '--train_crop_size=65,65',
          '--eval_crop_size=65,65', '--min_resize_value=none',
          '--max_resize_value=none', '--resize_factor=none',
          '--min_scale_factor=1', '--max_scale_factor=1',
          '--scale_factor_step_size=0', '--save_summaries_steps=1000',
          '--num_clones=1', '--train_batch_size=2', '--log_steps=1']


def _network_key(config_file, argv):
  options = model_config.model_options_from_config(
      config_lib.load_config(config_file, 'test', argv), 5, [65, 65])
  return tuple((k, repr(v)) for k, v in options._asdict().items()
               if 'initilizer' not in k)


def _train_checkpoint(config_file, argv, train_dir):
  """train.py's graph, session and loop (no steps: the initial model is
  saved) on constant inputs, so no input pipeline is built."""
  import tensorflow.compat.v1 as tf
  cfg = config_lib.load_config(config_file, 'train', argv)
  with tf.Graph().as_default():
    samples = {'image': tf.zeros([2, 65, 65, 3]),
               'label': tf.zeros([2, 65, 65, 1], tf.int32)}
    ops = training_graph.build_train_ops(cfg, samples, 5, 255, train_dir)
    os.makedirs(train_dir)
    with train_loop.create_session(cfg) as sess:
      train_loop.initialize(sess, ops, train_dir)
      assert train_loop.train_loop(sess, ops, train_dir, 0, 1, 0, 1) == 0
  return os.path.join(train_dir, 'model.ckpt-0')


def _restore_into_eval_graph(config_file, argv, checkpoint):
  """test.py's eval graph (evaluation.build_predictions + its Saver)."""
  import numpy as np
  import tensorflow.compat.v1 as tf
  from li_programs.checkpoints import train_checkpoints
  from li_programs.evaluate import evaluation
  cfg = config_lib.load_config(config_file, 'test', argv)
  options = model_config.model_options_from_config(cfg, 5, [65, 65])
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1, 65, 65, 3])
    predictions = evaluation.build_predictions(images, options)
    saver = tf.train.Saver(tf.global_variables())
    with tf.Session() as sess:
      train_checkpoints.restore_checkpoint(sess, saver, checkpoint)
      labels = sess.run(predictions, {images: np.zeros([1, 65, 65, 3])})
  assert labels.shape == (1, 65, 65)
  assert labels.min() >= 0 and labels.max() < 5


def test_shipped_config_checkpoints_restore_into_test_graph(tmp_path):
  assert len(SHIPPED) >= 6, SHIPPED
  argv = _overrides(str(tmp_path / 'unused'))
  tiny = h.write_config(str(tmp_path / 'tiny.ini'), str(tmp_path),
                        str(tmp_path / 'snap_tiny'))
  covered = {_network_key(tiny, argv): 'tiny config (test_programs_e2e)'}
  ade_mnv2 = os.path.join(h.REPO_ROOT, 'config', 'ADE20K',
                          'liMnv2_liAspp.ini')
  assert _network_key(ade_mnv2, argv) in covered

  runs = []
  for config_file in SHIPPED:
    key = _network_key(config_file, argv)
    if key in covered:
      continue
    covered[key] = config_file
    train_dir = str(tmp_path / ('train_%d' % len(runs)))
    checkpoint = _train_checkpoint(config_file, argv, train_dir)
    _restore_into_eval_graph(config_file, argv, checkpoint)
    runs.append(config_file)
  assert runs, 'every shipped network equals the tiny one?'
  for config_file in SHIPPED:
    assert _network_key(config_file, argv) in covered


def test_mismatched_checkpoint_is_a_clear_error(tmp_path, capsys):
  """A checkpoint of another network fails with one line, not a traceback."""
  import tensorflow.compat.v1 as tf
  ckpt_dir = tmp_path / 'other'
  ckpt_dir.mkdir()
  with tf.Graph().as_default():
    tf.get_variable('MobilenetV2/Conv/weights', [1])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      ckpt = tf.train.Saver().save(sess, str(ckpt_dir / 'model.ckpt'))
  records, _ = h.build_synthetic(str(tmp_path / 'data'))
  config = h.write_config(str(tmp_path / 'tiny.ini'), records,
                          str(tmp_path / 'snap'))
  from li_programs.config import cli
  status = cli.run_program(
      'test.py', test_prog.main,
      ['--config_file', config, '--checkpoint_path', ckpt])
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1].startswith('test.py: error: checkpoint %s does not fit the '
                            'model' % ckpt), err[-1]
