"""Unit tests of the training pieces (li_programs: loss, learning_rate,
optimizer, multipliers, initialization) against numpy formulas."""

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core import tf_compat
from li_programs.train import initialization
from li_programs.train import learning_rates
from li_programs.train import losses
from li_programs.train import loss_guard
from li_programs.train import multipliers
from li_programs.train import optimizers

pytestmark = pytest.mark.tf2


def _run(fetch, feed=None):
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    return sess.run(fetch, feed)


def test_poly_step_and_slow_start(fresh_graph):
  step = tf.placeholder(tf.int64, [])
  poly = learning_rates.learning_rate(step, 'poly', base_learning_rate=0.01,
                          training_number_of_steps=100, learning_power=0.9)
  stepped = learning_rates.learning_rate(step, 'step', base_learning_rate=0.1,
                             learning_rate_decay_step=10,
                             learning_rate_decay_factor=0.5)
  slow = learning_rates.learning_rate(step, 'poly', base_learning_rate=0.01,
                          training_number_of_steps=100, slow_start_step=5,
                          slow_start_learning_rate=1e-4)
  with tf.Session() as sess:
    for s in (0, 3, 37, 99, 100):
      p, st, sl = sess.run([poly, stepped, slow], {step: s})
      assert p == pytest.approx(0.01 * (1 - s / 100.0) ** 0.9, abs=1e-9)
      assert st == pytest.approx(0.1 * 0.5 ** (s // 10))
      expected = 1e-4 if s < 5 else 0.01 * (1 - s / 100.0) ** 0.9
      assert sl == pytest.approx(expected, abs=1e-9)


def test_poly_decays_to_end_learning_rate(fresh_graph):
  step = tf.placeholder(tf.int64, [])
  poly = learning_rates.learning_rate(step, 'poly', base_learning_rate=0.01,
                          training_number_of_steps=100, learning_power=0.9,
                          end_learning_rate=0.001)
  with tf.Session() as sess:
    for s in (0, 50, 100):
      expected = 0.009 * (1 - s / 100.0) ** 0.9 + 0.001
      assert sess.run(poly, {step: s}) == pytest.approx(expected, abs=1e-9)


def test_learning_policy_and_optimizer_errors(fresh_graph):
  with pytest.raises(ValueError, match='learning_policy'):
    learning_rates.learning_rate(tf.constant(0), 'cosine')
  with pytest.raises(ValueError, match='optimizer'):
    optimizers.make_optimizer('rmsprop', tf.constant(0.1))
  opt, lr = optimizers.make_optimizer('adam', None, adam_learning_rate=3e-4,
                              adam_epsilon=1e-2)
  assert isinstance(opt, tf.train.AdamOptimizer)
  assert _run(lr) == pytest.approx(3e-4)
  opt, _ = optimizers.make_optimizer('sgd', tf.constant(0.1), momentum=0.8)
  assert isinstance(opt, tf.train.MomentumOptimizer)


def _make_vars():
  names = ['MobilenetV2/Conv/weights', 'MobilenetV2/Conv/biases',
           'MobilenetV2/expanded_conv_12/lateral_inhibition/li_weights',
           'li_aspp/branch_1/lateral_inhibition/li_weights',
           'li_aspp/branch_1/depthwise/depthwise_weights',
           'image_pooling/weights', 'decoder/decoder_conv0/biases',
           'logits/semantic/weights', 'logits/semantic/biases']
  out = {}
  for name in names:
    scope, leaf = name.rsplit('/', 1)
    with tf.variable_scope(scope):
      out[name] = tf.get_variable(leaf, [2], initializer=tf.ones_initializer())
  return out


def test_gradient_multipliers(fresh_graph):
  v = _make_vars()
  last = ['logits', 'image_pooling', 'aspp', 'concat_projection', 'decoder',
          'meta_architecture']
  mult = multipliers.gradient_multipliers(list(v.values()), last, 10.0, 3.0)
  by_name = {var.op.name: m for var, m in mult.items()}
  # The LI multiplier comes on top of the last-layer one ('aspp' in
  # 'li_aspp/...'): 10 x 3.
  assert by_name == {
      'MobilenetV2/Conv/biases': 2.0,
      'MobilenetV2/expanded_conv_12/lateral_inhibition/li_weights': 3.0,
      'li_aspp/branch_1/lateral_inhibition/li_weights': 30.0,
      'li_aspp/branch_1/depthwise/depthwise_weights': 10.0,
      'image_pooling/weights': 10.0,
      'decoder/decoder_conv0/biases': 20.0,
      'logits/semantic/weights': 10.0,
      'logits/semantic/biases': 20.0}
  only_logits = multipliers.gradient_multipliers(list(v.values()), ['logits'],
                                                 1.0)
  assert {var.op.name: m for var, m in only_logits.items()} == {
      'MobilenetV2/Conv/biases': 2.0, 'decoder/decoder_conv0/biases': 2.0,
      'logits/semantic/biases': 2.0}
  grads = [(tf.constant([1.0, 2.0]), var) for var in v.values()]
  scaled = _run([g for g, _ in multipliers.multiply_gradients(grads, mult)])
  for (_, var), value in zip(grads, scaled):
    np.testing.assert_allclose(value, np.array([1.0, 2.0]) * mult.get(var, 1))


def test_variable_selection(fresh_graph):
  v = _make_vars()
  allv = list(v.values())
  frozen = multipliers.select_trainable_variables(allv, 'MobilenetV2',
                                         freeze_backbone_network=True)
  assert all(not x.op.name.startswith('MobilenetV2/') for x in frozen)
  assert len(frozen) == 6
  li_only = multipliers.select_trainable_variables(allv, 'MobilenetV2',
                                          finetune_li_weight_only=True)
  assert sorted(x.op.name for x in li_only) == sorted(
      [n for n in v if n.endswith('li_weights')])
  both = multipliers.select_trainable_variables(allv, 'MobilenetV2', True, True)
  assert [x.op.name for x in both] == [
      'li_aspp/branch_1/lateral_inhibition/li_weights']
  assert multipliers.select_trainable_variables(allv) == allv
  with pytest.raises(ValueError, match='no variable left'):
    multipliers.select_trainable_variables(allv[:2], 'MobilenetV2', True)


def _np_pixel_losses(logits, labels, ignore):
  z = logits - logits.max(-1, keepdims=True)
  logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
  flat_l = labels.reshape(-1)
  flat_p = logp.reshape(-1, logits.shape[-1])
  keep = flat_l != ignore
  losses = np.zeros(flat_l.shape)
  losses[keep] = -flat_p[keep, flat_l[keep]]
  return losses, keep


def test_cross_entropy_with_ignore_label(fresh_graph):
  rng = np.random.RandomState(0)
  logits = rng.randn(2, 5, 5, 4).astype(np.float32)
  labels = rng.randint(0, 4, (2, 5, 5, 1)).astype(np.int32)
  labels[0, :2] = 255
  loss = losses.softmax_cross_entropy_loss(tf.constant(logits),
                                       tf.constant(labels), 4, 255)
  assert tf.losses.get_losses() == [loss]
  pixel, keep = _np_pixel_losses(logits, labels, 255)
  assert _run(loss) == pytest.approx(pixel[keep].mean(), rel=1e-5)


def test_cross_entropy_upsamples_logits(fresh_graph):
  logits = np.zeros((1, 2, 2, 3), np.float32)
  logits[..., 1] = 5.0
  labels = np.ones((1, 7, 7, 1), np.int32)
  loss = losses.softmax_cross_entropy_loss(tf.constant(logits),
                                       tf.constant(labels), 3, 255)
  expected = -np.log(np.exp(5.0) / (np.exp(5.0) + 2))
  assert _run(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('spread', [1.0, 1e4])
@pytest.mark.parametrize('compile_with_xla', [False, True])
def test_composed_cross_entropy_matches_fused_op(fresh_graph, spread,
                                                 compile_with_xla):
  if compile_with_xla and not getattr(tf.test, 'is_built_with_xla',
                                      lambda: False)():
    pytest.skip('this TensorFlow has no XLA (1.15: the fused op is used)')
  # Loss and gradient, for a per-row upstream gradient as the weighted
  # loss gives; a spread of 1e4 would overflow an unshifted exp.
  rng = np.random.RandomState(5)
  logits = tf.constant((rng.randn(300, 151) * spread).astype(np.float32))
  labels = tf.constant(rng.randint(0, 151, 300).astype(np.int32))
  weights = tf.constant(rng.rand(300).astype(np.float32))
  fused = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                         logits=logits)
  composed = losses.composed_cross_entropy(labels, logits, compile_with_xla)
  grads = [tf.gradients(tf.reduce_sum(losses * weights), logits)[0]
           for losses in (fused, composed)]
  fused_v, composed_v, fused_g, composed_g = _run(
      [fused, composed] + grads)
  assert np.isfinite(composed_v).all() and np.isfinite(composed_g).all()
  np.testing.assert_allclose(composed_v, fused_v, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(composed_g, fused_g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('op_graph', ['fast', 'original'])
def test_cross_entropy_op_by_op_graph(fresh_graph, op_graph):
  # The original graph keeps the fused op; the fast graph takes the
  # composed one where it is the faster, on TensorFlow 2.x.
  logits = tf.zeros([4, 3])
  losses.softmax_cross_entropy_loss(tf.reshape(logits, [1, 2, 2, 3]),
                                tf.zeros([1, 2, 2, 1], tf.int32), 3, 255,
                                op_graph=op_graph)
  ops = tf.get_default_graph().get_operations()
  fused = 'SparseSoftmaxCrossEntropyWithLogits' in {op.type for op in ops}
  composed = op_graph == 'fast' and tf_compat.tensorflow_major() >= 2
  assert fused != composed
  compiled = [op.type for op in ops if _marked_for_xla(op)]
  if composed:  # the 2.x wheels have XLA: the composed ops are compiled
    assert {'Exp', 'Max', 'Sum', 'Log'} <= set(compiled)
  else:
    assert not compiled


def _marked_for_xla(op):
  try:
    return op.get_attr('_XlaCompile')
  except ValueError:
    return False


def test_hard_pixel_mining_ramp(fresh_graph):
  rng = np.random.RandomState(3)
  logits = rng.randn(1, 6, 6, 3).astype(np.float32)
  labels = rng.randint(0, 3, (1, 6, 6, 1)).astype(np.int32)
  step = tf.train.get_or_create_global_step()
  loss = losses.softmax_cross_entropy_loss(
      tf.constant(logits), tf.constant(labels), 3, 255,
      hard_example_mining_step=10, top_k_percent_pixels=0.25)
  pixel, _ = _np_pixel_losses(logits, labels, 255)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for s in (0, 5, 10, 20):
      sess.run(step.assign(s))
      ratio = 1.0 - 0.75 * min(s / 10.0, 1.0)
      k = max(int(ratio * pixel.size), 1)
      expected = np.sort(pixel)[::-1][:k].mean()
      assert sess.run(loss) == pytest.approx(expected, rel=1e-5)
  with pytest.raises(ValueError, match='top_k_percent_pixels'):
    losses.softmax_cross_entropy_loss(tf.constant(logits), tf.constant(labels),
                                  3, 255, top_k_percent_pixels=0.0)


def test_init_from_checkpoint_excludes_last_layers_and_skips_missing(
    tmp_path):
  ckpt = str(tmp_path / 'init' / 'model.ckpt')
  with tf.Graph().as_default():
    with tf.variable_scope('net'):
      tf.get_variable('w', [3], initializer=tf.constant_initializer(7.0))
    with tf.variable_scope('logits'):
      tf.get_variable('b', [2], initializer=tf.constant_initializer(9.0))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, ckpt)

  with tf.Graph().as_default():
    w = tf.get_variable('net/w', [3], initializer=tf.zeros_initializer())
    b = tf.get_variable('logits/b', [2], initializer=tf.zeros_initializer())
    extra = tf.get_variable('net/new', [1], initializer=tf.zeros_initializer())
    fn = initialization.model_init_fn(str(tmp_path / 'train'), ckpt, False,
                                      ['logits'], [w, b, extra])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      restored, skipped = fn(sess)
      assert restored == 1 and sorted(skipped) == ['logits/b', 'net/new']
      np.testing.assert_allclose(sess.run(w), 7.0)
      np.testing.assert_allclose(sess.run(b), 0.0)
    fn = initialization.model_init_fn(None, ckpt, True, ['logits'], [w, b])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      fn(sess)
      np.testing.assert_allclose(sess.run(b), 9.0)
    # A train dir that already holds a checkpoint means resume: no init.
    os.makedirs(str(tmp_path / 'train'))
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      tf.train.Saver().save(sess, str(tmp_path / 'train' / 'model.ckpt'), 1)
    assert initialization.model_init_fn(str(tmp_path / 'train'), ckpt, False,
                                        [], [w]) is None
    assert initialization.model_init_fn(None, None, False, [], [w]) is None

  with tf.Graph().as_default():
    bad = tf.get_variable('net/w', [4])
    with pytest.raises(ValueError, match='net/w with shape'):
      initialization.model_init_fn(None, ckpt, True, [], [bad])
    with pytest.raises(ValueError, match='cannot read checkpoint'):
      initialization.model_init_fn(None, str(tmp_path / 'nope.ckpt'), True, [],
                                   [bad])


def test_init_restores_global_variables_by_prefix(tmp_path):
  """As the original: every global variable but global_step, optimizer
  slots included, last layers excluded by name prefix ('aspp' excludes
  'aspp/...' but not 'li_aspp/...')."""
  ckpt = str(tmp_path / 'init' / 'model.ckpt')
  names = ['aspp/w', 'li_aspp/w', 'net/w', 'net/w/Momentum']
  with tf.Graph().as_default():
    for name in names:
      tf.get_variable(name, [2], initializer=tf.constant_initializer(5.0))
    tf.train.get_or_create_global_step()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(tf.train.get_global_step().assign(42))
      tf.train.Saver().save(sess, ckpt)

  with tf.Graph().as_default():
    made = {name: tf.get_variable(name, [2], initializer=tf.zeros_initializer(),
                                  trainable=not name.endswith('Momentum'))
            for name in names}
    step = tf.train.get_or_create_global_step()
    fn = initialization.model_init_fn(None, ckpt, False, ['aspp', 'logits'])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      restored, skipped = fn(sess)
      values = sess.run(made)
      assert sess.run(step) == 0
  assert restored == 3
  assert sorted(skipped) == ['aspp/w', 'global_step']
  assert values['aspp/w'].tolist() == [0.0, 0.0]
  for name in ('li_aspp/w', 'net/w', 'net/w/Momentum'):
    assert values[name].tolist() == [5.0, 5.0], name


def test_mean_li_weight_and_finite_check(fresh_graph):
  assert multipliers.mean_li_weight([]) is None
  with tf.variable_scope('a/lateral_inhibition'):
    tf.get_variable('li_weights', [1, 1, 2, 1],
                    initializer=tf.constant_initializer(0.2))
  with tf.variable_scope('b/lateral_inhibition'):
    tf.get_variable('li_weights', [1, 1, 4, 1],
                    initializer=tf.constant_initializer(0.5))
  tf.get_variable('other', [3], initializer=tf.ones_initializer())
  assert _run(multipliers.mean_li_weight()) == pytest.approx((0.4 + 2.0) / 6)
  loss_guard.check_finite_loss(1.5, 3)
  with pytest.raises(loss_guard.TrainingDivergedError, match='step 12'):
    loss_guard.check_finite_loss(float('nan'), 12)


def test_cross_entropy_on_downsampled_labels(fresh_graph):
  logits = np.zeros((1, 2, 2, 3), np.float32)
  logits[0, 0, 0] = [4.0, 0.0, 0.0]
  labels = np.full((1, 5, 5, 1), 2, np.int32)
  labels[0, 0, 0] = 0
  loss = losses.softmax_cross_entropy_loss(tf.constant(logits),
                                       tf.constant(labels), 3, 255,
                                       upsample_logits=False)
  # Nearest (align_corners) keeps labels[0, 0] = 0 at logits pixel (0, 0)
  # and label 2 elsewhere.
  first = -np.log(np.exp(4.0) / (np.exp(4.0) + 2))
  others = -np.log(1.0 / 3)
  assert _run(loss) == pytest.approx((first + 3 * others) / 4, rel=1e-5)
