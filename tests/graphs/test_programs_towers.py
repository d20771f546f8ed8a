"""Towers combine as in the original: own batches, L2 in tower 0 only,
averaged gradients, every tower's update ops (li_programs/train/towers.py).

Toy model: one variable w = 1 with the L2 loss w^2 / 2 (gradient 1) and a
data loss 3 * x * w on the tower's batch x (gradient 3x).
"""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core.batch_norm import batch_norm
from li_programs.train import towers

pytestmark = pytest.mark.tf2


def _toy_tower(batch):
  w = tf.get_variable('w', [], initializer=tf.ones_initializer(),
                      regularizer=lambda v: 0.5 * tf.square(v))
  data_loss = tf.reduce_sum(3.0 * batch['x']) * w
  return [data_loss], w


def _gradient_of_w(built):
  grads = towers.tower_gradients(tf.train.GradientDescentOptimizer(1.0),
                                 built)
  assert len(grads) == 1
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(grads[0][0])


def test_two_towers_average_data_and_l2_gradients(fresh_graph):
  """Data gradient 3 in both towers, L2 gradient 1 in tower 0 only:
  ((3 + 1) + 3) / 2 = 3.5."""
  built = towers.build_towers(2, lambda i: {'x': tf.constant([1.0])},
                              _toy_tower)
  assert len(tf.global_variables()) == 1  # the towers share w
  assert len(tf.losses.get_regularization_losses()) == 1
  assert _gradient_of_w(built) == pytest.approx(3.5)


def test_one_tower_keeps_the_full_l2_gradient(fresh_graph):
  built = towers.build_towers(1, lambda i: {'x': tf.constant([1.0])},
                              _toy_tower)
  assert _gradient_of_w(built) == pytest.approx(4.0)


def _towers_on_iterator():
  iterator = tf.data.make_one_shot_iterator(
      tf.data.Dataset.from_tensor_slices({'x': [1.0, 5.0]}).batch(1))
  return towers.build_towers(2, lambda i: iterator.get_next(), _toy_tower)


def test_each_tower_draws_its_own_batch():
  """Batches 1 and 5 come from one iterator, one per tower (which tower
  gets which depends on the order the two reads run in): losses 3 + 1/2
  and 15, or 15 + 1/2 and 3; the gradient is 9.5 either way."""
  with tf.Graph().as_default():
    built = _towers_on_iterator()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      losses = sess.run([t.loss for t in built])
  assert (losses == pytest.approx([3.5, 15.0]) or
          losses == pytest.approx([15.5, 3.0])), losses
  with tf.Graph().as_default():
    assert _gradient_of_w(_towers_on_iterator()) == pytest.approx(9.5)


def test_tower_scopes_and_every_towers_update_ops(fresh_graph):
  """Tower 0 has no name scope of its own (as the original), tower 1 is
  'clone_1'; both towers' BatchNorm updates are collected, so a step moves
  the moving mean once per tower."""
  def bn_tower(batch):
    net = batch_norm(batch['x'], decay=0.5, is_training=True, scope='bn')
    return [tf.reduce_sum(net)], net

  batches = [tf.fill([2, 1, 1, 1], 4.0), tf.fill([2, 1, 1, 1], 4.0)]
  built = towers.build_towers(2, lambda i: {'x': batches[i]}, bn_tower)
  assert built[0].outputs.op.name == 'bn/FusedBatchNormV3'
  assert built[1].outputs.op.name == 'clone_1/bn/FusedBatchNormV3'
  updates = towers.all_update_ops()
  assert len(updates) == 4
  assert sum(op.name.startswith('clone_1/') for op in updates) == 2
  moving_mean = [v for v in tf.global_variables()
                 if v.op.name == 'bn/moving_mean'][0]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(tf.group(*updates))
    # Two updates with decay 0.5 towards 4: 0 -> 2 -> 3 (both may read 0
    # first when they run concurrently: at least one full update).
    assert sess.run(moving_mean)[0] in (pytest.approx(3.0),
                                         pytest.approx(4.0))


def test_average_gradients_counts_missing_gradients_as_zero(fresh_graph):
  var = tf.get_variable('w', [2])
  other = tf.get_variable('u', [1])
  unused = tf.get_variable('v', [1])
  tower_grads = [
      [(tf.constant([1.0, 2.0]), var), (None, other), (None, unused)],
      [(tf.constant([3.0, 6.0]), var), (tf.constant([4.0]), other),
       (None, unused)]]
  averaged = towers.average_gradients(tower_grads)
  assert [v for _, v in averaged] == [var, other]
  with tf.Session() as sess:
    values = sess.run([g for g, _ in averaged])
  np.testing.assert_allclose(values[0], [2.0, 4.0])
  np.testing.assert_allclose(values[1], [2.0])
