"""tools/recalibrate_bn.py on a tiny slim graph (no full model)."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core.batch_norm import batch_norm
from li_programs.checkpoints import checkpoint_check
from li_programs.config import config as config_lib
from tools import recalibrate_bn

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def _tiny_bn_graph(images, is_training):
  net = slim.conv2d(images, 4, [3, 3], scope='conv',
                    normalizer_fn=batch_norm,
                    normalizer_params={'is_training': is_training,
                                       'decay': 0.9997, 'scale': True})
  return batch_norm(net, is_training=is_training, scope='head/BatchNorm')


def test_moments_are_found_with_their_variable_scopes():
  with tf.Graph().as_default() as graph:
    images = tf.random.normal([2, 8, 8, 3])
    _tiny_bn_graph(images, is_training=True)
    scopes = sorted(s for s, _, _ in recalibrate_bn.batch_norm_moments(graph))
  assert scopes == ['conv/BatchNorm', 'head/BatchNorm']
  with tf.Graph().as_default() as graph:
    _tiny_bn_graph(tf.zeros([1, 8, 8, 3]), is_training=False)
    assert recalibrate_bn.batch_norm_moments(graph) == []  # inference BN


def test_statistics_are_batch_averages_and_rewrite_keeps_the_rest(tmp_path):
  data = np.random.RandomState(0).normal(3.0, 2.0, (4, 2, 8, 8, 3))
  prefix = str(tmp_path / 'model.ckpt-7')
  with tf.Graph().as_default() as graph:
    feed = tf.placeholder(tf.float32, [2, 8, 8, 3])
    _tiny_bn_graph(feed, is_training=True)
    step = tf.train.get_or_create_global_step()
    tf.Variable([1.5, 2.5], name='conv/weights/Adam')  # a slot: kept
    moments = recalibrate_bn.batch_norm_moments(graph)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(tf.assign(step, 7))
      tf.train.Saver().save(sess, prefix, write_state=False)
      expected = [sess.run([m for _, m, _ in moments], {feed: batch})
                  for batch in data]
      # estimate_statistics runs the session without a feed: feed the
      # same four batches in turn.
      batches = iter(data)
      real_run = sess.run
      sess.run = lambda fetches: real_run(fetches, {feed: next(batches)})
      stats = recalibrate_bn.estimate_statistics(sess, moments, 4)
  assert set(stats) == {'conv/BatchNorm', 'head/BatchNorm'}
  index = [s for s, _, _ in moments].index('conv/BatchNorm')
  np.testing.assert_allclose(
      stats['conv/BatchNorm'][0],
      np.mean([e[index] for e in expected], axis=0), rtol=1e-5)
  assert np.all(stats['head/BatchNorm'][1] > 0)

  assert recalibrate_bn.rewrite_checkpoint(prefix, stats) == 2
  reader = tf.train.load_checkpoint(prefix)
  np.testing.assert_allclose(reader.get_tensor('conv/BatchNorm/moving_mean'),
                             stats['conv/BatchNorm'][0], rtol=1e-6)
  np.testing.assert_allclose(
      reader.get_tensor('head/BatchNorm/moving_variance'),
      stats['head/BatchNorm'][1], rtol=1e-6)
  assert reader.get_tensor('global_step') == 7
  np.testing.assert_array_equal(reader.get_tensor('conv/weights/Adam'),
                                [1.5, 2.5])
  assert reader.get_variable_to_dtype_map()['global_step'] == tf.int64


def test_rewrite_rejects_statistics_of_another_model(tmp_path):
  prefix = str(tmp_path / 'other.ckpt')
  with tf.Graph().as_default():
    tf.Variable(np.zeros(3, np.float32), name='x/BatchNorm/moving_mean')
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, prefix, write_state=False)
  with pytest.raises(ValueError, match='has no y/BatchNorm/moving_mean'):
    recalibrate_bn.rewrite_checkpoint(
        prefix, {'y/BatchNorm': (np.zeros(3), np.ones(3))})


def test_checkpoints_are_looked_up_where_train_py_wrote_them(tmp_path):
  config_file = os.path.join(REPO_ROOT, 'config', 'demo',
                             'liMnv2_liAspp_shapes.ini')
  logdir = tmp_path / 'my_train_dir'
  cfg = config_lib.load_config(config_file, 'train', [
      '--snapshot_root', str(tmp_path / 'snapshots'),
      '--train_logdir', str(logdir)])
  with pytest.raises(checkpoint_check.CheckpointError,
                     match='no checkpoint listed in .*my_train_dir'):
    recalibrate_bn.checkpoints_to_recalibrate(cfg)
  logdir.mkdir()
  prefix = str(logdir / 'model.ckpt-5')
  tf.train.update_checkpoint_state(str(logdir), prefix, [prefix])
  with pytest.raises(checkpoint_check.CheckpointError,
                     match='model.ckpt-5 not found'):
    recalibrate_bn.checkpoints_to_recalibrate(cfg)
  open(prefix + '.index', 'w').close()
  with pytest.raises(checkpoint_check.CheckpointError,
                     match='model.ckpt-5.data-00000-of-00001 is missing'):
    recalibrate_bn.checkpoints_to_recalibrate(cfg)
  open(prefix + '.data-00000-of-00001', 'w').close()
  assert recalibrate_bn.checkpoints_to_recalibrate(cfg) == [prefix]
  with pytest.raises(checkpoint_check.CheckpointError,
                     match='elsewhere not found'):
    recalibrate_bn.checkpoints_to_recalibrate(cfg, str(tmp_path / 'elsewhere'))
