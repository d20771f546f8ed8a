"""The lateral-inhibition layer against an independent numpy reference."""
import itertools
import math

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core.batch_norm import batch_norm
from li_utils import conv_ops

pytestmark = pytest.mark.tf2


def numpy_li_kernel(weights, zone, sigma):
  """Kernel [z, z, C] written straight from the formula, loop by loop."""
  centre = zone // 2
  kernel = np.zeros((zone, zone, len(weights)))
  for i, j, c in itertools.product(range(zone), range(zone),
                                   range(len(weights))):
    decay = math.exp(-((i - centre) ** 2 + (j - centre) ** 2) /
                     (2.0 * sigma ** 2))
    kernel[i, j, c] = decay * (1.0 if (i, j) == (centre, centre)
                               else -weights[c])
  return kernel


def numpy_depthwise_same(x, kernel, rate):
  """Dilated depthwise correlation with zero 'SAME' padding, stride 1."""
  batch, height, width, channels = x.shape
  zone = kernel.shape[0]
  half = (zone // 2) * rate
  padded = np.zeros((batch, height + 2 * half, width + 2 * half, channels))
  padded[:, half:half + height, half:half + width, :] = x
  out = np.zeros_like(x, dtype=np.float64)
  for i in range(zone):
    for j in range(zone):
      window = padded[:, i * rate:i * rate + height,
                      j * rate:j * rate + width, :]
      out += window * kernel[i, j, :]
  return out


@pytest.mark.parametrize('zone,sigma', [(3, 1.0), (5, 0.5), (5, 2.0),
                                        (7, 1.5), (7, 3.0)])
def test_kernel_matches_formula(fresh_graph, zone, sigma):
  weights = np.array([0.0, 0.15, 0.5, 1.0], np.float32)
  kernel = conv_ops.create_lateral_inhibition_kernel(
      tf.constant(weights.reshape(1, 1, 4, 1)), zone, sigma)
  with tf.Session() as sess:
    value = sess.run(kernel)
  assert value.shape == (zone, zone, 4, 1)
  np.testing.assert_allclose(value[..., 0], numpy_li_kernel(weights, zone,
                                                            sigma),
                             rtol=1e-6, atol=1e-7)
  # The centre passes the input through unchanged, whatever the weight.
  assert np.all(value[zone // 2, zone // 2, :, 0] == 1.0)


def test_depth_multiplier_repeats_kernel(fresh_graph):
  weights = tf.constant(np.array([0.3, 0.7], np.float32).reshape(1, 1, 2, 1))
  kernel = conv_ops.create_lateral_inhibition_kernel(weights, 3, 1.0,
                                                     depth_multiplier=3)
  with tf.Session() as sess:
    value = sess.run(kernel)
  assert value.shape == (3, 3, 2, 3)
  for m in range(3):
    np.testing.assert_array_equal(value[..., m], value[..., 0])


def _layer_output(inputs, **kwargs):
  outputs = conv_ops.lateral_inhibition_layer(tf.constant(inputs), **kwargs)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    weights = sess.run(tf.trainable_variables()[0])
    return sess.run(outputs), weights


@pytest.mark.parametrize('zone,rate,sigma', [(3, 1, 1.0), (3, 2, 1.0),
                                             (5, 3, 0.8)])
def test_output_matches_numpy_dilated_depthwise(fresh_graph, zone, rate,
                                                sigma):
  rng = np.random.RandomState(zone * 10 + rate)
  x = rng.randn(2, 13, 11, 3).astype(np.float32)
  out, weights = _layer_output(
      x, li_zone=zone, li_rate=rate, li_decay_std=sigma,
      li_weight_initilizer_params={'minval': 0.1, 'maxval': 0.9})
  assert weights.min() >= 0.1 and weights.max() <= 0.9
  expected = numpy_depthwise_same(
      x, numpy_li_kernel(weights.ravel(), zone, sigma), rate)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_rate_changes_the_result(fresh_graph):
  x = np.random.RandomState(0).rand(1, 9, 9, 2).astype(np.float32)
  params = {'minval': 0.5, 'maxval': 0.5}
  with tf.variable_scope('a'):
    out1, _ = _layer_output(x, li_rate=1, li_weight_initilizer_params=params)
  with tf.variable_scope('b'):
    out2, _ = _layer_output(x, li_rate=2, li_weight_initilizer_params=params)
  assert not np.allclose(out1, out2)


def test_nchw_matches_nhwc(fresh_graph):
  x = np.random.RandomState(1).randn(1, 7, 8, 3).astype(np.float32)
  params = {'minval': 0.4, 'maxval': 0.4}
  nhwc, _ = _layer_output(x, li_weight_initilizer_params=params, scope='n1')
  nchw, _ = _layer_output(np.transpose(x, [0, 3, 1, 2]), data_format='NCHW',
                          li_weight_initilizer_params=params, scope='n2')
  np.testing.assert_allclose(np.transpose(nchw, [0, 2, 3, 1]), nhwc,
                             rtol=1e-6, atol=1e-6)


def test_variable_name_shape_and_collections(fresh_graph):
  inputs = tf.zeros([2, 9, 9, 6])
  with tf.variable_scope('block'):
    conv_ops.lateral_inhibition_layer(inputs, scope='lateral_inhibition')
  variables = tf.global_variables()
  assert [v.op.name for v in variables] == [
      'block/lateral_inhibition/li_weights']
  assert variables[0].shape.as_list() == [1, 1, 6, 1]
  assert variables[0].dtype.base_dtype == tf.float32
  assert variables[0] in tf.trainable_variables()
  assert tf.model_variables() == variables


def test_reuse_under_auto_reuse_shares_the_weight(fresh_graph):
  inputs = tf.zeros([1, 5, 5, 4])
  first = conv_ops.lateral_inhibition_layer(inputs, scope='shared')
  second = conv_ops.lateral_inhibition_layer(inputs, scope='shared')
  assert first is not second
  assert len(tf.global_variables()) == 1
  # Added to MODEL_VARIABLES once, not once per call.
  assert len(tf.model_variables()) == 1


def test_not_trainable_and_extra_collection(fresh_graph):
  conv_ops.lateral_inhibition_layer(tf.zeros([1, 5, 5, 4]), trainable=False,
                                    variables_collections=['my_li'])
  assert tf.trainable_variables() == []
  assert [v.op.name for v in tf.get_collection('my_li')] == [
      'lateral_inhibition/li_weights']


def test_normalizer_creates_batch_norm_under_scope(fresh_graph):
  conv_ops.lateral_inhibition_layer(
      tf.zeros([1, 5, 5, 4]), scope='li', li_normalizer_fn=batch_norm,
      li_normalizer_params={'scale': True, 'is_training': False})
  names = sorted(v.op.name for v in tf.global_variables())
  assert names == ['li/BatchNorm/beta', 'li/BatchNorm/gamma',
                   'li/BatchNorm/moving_mean', 'li/BatchNorm/moving_variance',
                   'li/li_weights']


def test_activation_is_applied(fresh_graph):
  x = -np.abs(np.random.RandomState(2).randn(1, 6, 6, 2)).astype(np.float32)
  params = {'minval': 0.0, 'maxval': 0.0}
  linear, _ = _layer_output(x, li_weight_initilizer_params=params, scope='l')
  relu, _ = _layer_output(x, li_activation_fn=tf.nn.relu,
                          li_weight_initilizer_params=params, scope='r')
  # Zero weights make the layer the identity; relu then clears negatives.
  np.testing.assert_allclose(linear, x, atol=1e-6)
  assert (relu == 0).all()


def test_regularizer_adds_a_loss(fresh_graph):
  conv_ops.lateral_inhibition_layer(
      tf.zeros([1, 5, 5, 3]), li_weight_regularizer=slim.l2_regularizer(0.1))
  assert len(tf.losses.get_regularization_losses()) == 1


def test_optimizer_step_applies_clip_constraint(fresh_graph):
  x = tf.constant(np.random.RandomState(3).rand(1, 8, 8, 4), tf.float32)
  out = conv_ops.lateral_inhibition_layer(
      x, li_weight_clip_values=(0.2, 0.6),
      li_weight_initilizer_params={'minval': 0.3, 'maxval': 0.5})
  weights = tf.trainable_variables()[0]
  # d sum(out) / dw = -(weighted neighbour sums) < 0 for positive inputs, so
  # minimising sum(out) pushes the weights up, minimising -sum(out) down.
  sess = tf.Session()
  down = tf.train.GradientDescentOptimizer(100.0).minimize(-tf.reduce_sum(out))
  up = tf.train.GradientDescentOptimizer(100.0).minimize(tf.reduce_sum(out))
  sess.run(tf.global_variables_initializer())
  sess.run(up)
  np.testing.assert_allclose(sess.run(weights), 0.6)
  sess.run(down)
  np.testing.assert_allclose(sess.run(weights), 0.2)


def test_gradient_matches_finite_difference(fresh_graph):
  rng = np.random.RandomState(4)
  x = tf.constant(rng.randn(1, 7, 7, 3), tf.float64)
  target = tf.constant(rng.randn(1, 7, 7, 3), tf.float64)
  out = conv_ops.lateral_inhibition_layer(
      x, li_zone=5, li_rate=2, li_decay_std=1.3,
      li_weight_initilizer_params={'minval': 0.2, 'maxval': 0.8})
  loss = tf.reduce_sum(tf.square(out - target))
  weights = tf.trainable_variables()[0]
  grad = tf.gradients(loss, weights)[0]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    analytic = sess.run(grad)
    base = sess.run(weights)
    assert np.abs(analytic).min() > 1e-6
    eps = 1e-6
    for c in range(3):
      shifted = base.copy()
      shifted[0, 0, c, 0] += eps
      sess.run(weights.assign(shifted))
      plus = sess.run(loss)
      shifted[0, 0, c, 0] -= 2 * eps
      sess.run(weights.assign(shifted))
      minus = sess.run(loss)
      numeric = (plus - minus) / (2 * eps)
      np.testing.assert_allclose(analytic[0, 0, c, 0], numeric, rtol=1e-5)
    sess.run(weights.assign(base))


@pytest.mark.parametrize('kwargs,message', [
    ({'li_zone': 4}, 'odd positive integer'),
    ({'li_zone': 0}, 'odd positive integer'),
    ({'data_format': 'NDHWC'}, 'data_format must be one of NHWC, NCHW'),
    ({'padding': 'same'}, 'padding'),
    ({'li_weight_clip_values': (1.0, 0.0)}, 'min <= max'),
])
def test_bad_arguments_raise_value_error(fresh_graph, kwargs, message):
  with pytest.raises(ValueError, match=message):
    conv_ops.lateral_inhibition_layer(tf.zeros([1, 5, 5, 3]), **kwargs)


def test_non_4d_input_raises(fresh_graph):
  with pytest.raises(ValueError, match='expects a 4-D input'):
    conv_ops.lateral_inhibition_layer(tf.zeros([5, 5, 3]))


def test_unknown_channels_raise(fresh_graph):
  with pytest.raises(ValueError, match='known channel dimension'):
    conv_ops.lateral_inhibition_layer(
        tf.placeholder(tf.float32, [1, 5, 5, None]))


def test_usable_in_arg_scope(fresh_graph):
  with slim.arg_scope([conv_ops.lateral_inhibition_layer], li_zone=5):
    _, kernel = conv_ops.lateral_inhibition_layer(
        tf.zeros([1, 9, 9, 2]), return_li_kernel_weights=True)
  assert kernel.shape.as_list() == [5, 5, 2, 1]


def _names():
  return sorted(v.op.name for v in tf.global_variables())


def test_li_separable_conv_layout(fresh_graph):
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      normalizer_fn=batch_norm, activation_fn=tf.nn.relu):
    out = conv_ops.split_separable_conv2d_with_lateral_inhibition(
        tf.zeros([1, 9, 9, 8]), 16, rate=2, scope='branch_1',
        weight_decay=0.01)
  assert out.shape.as_list() == [1, 9, 9, 16]
  names = _names()
  assert 'branch_1/lateral_inhibition/li_weights' in names
  assert 'branch_1/depthwise/depthwise_weights' in names
  assert 'branch_1/depthwise/BatchNorm/beta' in names
  assert 'branch_1/pointwise/weights' in names
  # Only the pointwise weights are L2-regularised.
  assert len(tf.losses.get_regularization_losses()) == 1


@pytest.mark.parametrize('location,channels', [('after_expansion', 48),
                                               ('after_input', 8), (None, 0)])
def test_expanded_conv_li_location(fresh_graph, location, channels):
  endpoints = {}
  out = conv_ops.expanded_conv_with_lateral_inhibition(
      tf.zeros([1, 9, 9, 8]), 8, expansion_size=48, scope='expanded_conv_3',
      li_location=location, endpoints=endpoints)
  assert out.shape.as_list() == [1, 9, 9, 8]
  li = [v for v in tf.global_variables() if 'li_weights' in v.op.name]
  if location is None:
    assert li == [] and 'lateral_inhibition_output' not in endpoints
  else:
    assert [v.op.name for v in li] == [
        'expanded_conv_3/lateral_inhibition/li_weights']
    assert li[0].shape.as_list() == [1, 1, channels, 1]
    assert 'lateral_inhibition_output' in endpoints
  assert 'expanded_conv_3/expand/weights' in _names()
  assert 'depthwise_output' in endpoints


def test_expanded_conv_without_expansion_has_no_expand(fresh_graph):
  conv_ops.expanded_conv_with_lateral_inhibition(
      tf.zeros([1, 9, 9, 8]), 4, expansion_size=conv_ops.expand_input_by_factor(
          1, divisible_by=1), scope='expanded_conv')
  names = _names()
  assert not any('/expand/' in n for n in names)
  assert 'expanded_conv/lateral_inhibition/li_weights' in names


@pytest.mark.parametrize('location,channels', [('after_conv1', 4),
                                               ('before_conv1', 16)])
def test_li_bottleneck_layout(fresh_graph, location, channels):
  with tf.variable_scope('unit_3'):
    out = conv_ops.li_resnet_bottleneck(tf.zeros([1, 9, 9, 16]), 16, 4, 1,
                                        li_location=location)
  assert out.shape.as_list() == [1, 9, 9, 16]
  weights = [v for v in tf.global_variables() if 'li_weights' in v.op.name]
  assert [v.op.name for v in weights] == [
      'unit_3/bottleneck_v1/lateral_inhibition/li_weights']
  assert weights[0].shape.as_list() == [1, 1, channels, 1]
  for conv in ('conv1', 'conv2', 'conv3'):
    assert 'unit_3/bottleneck_v1/%s/weights' % conv in _names()


def test_block_rejects_unknown_li_location(fresh_graph):
  with pytest.raises(ValueError, match='after_expansion, after_input'):
    conv_ops.expanded_conv_with_lateral_inhibition(
        tf.zeros([1, 5, 5, 4]), 4, li_location='after_projection')
  with pytest.raises(ValueError, match='after_conv1, before_conv1'):
    conv_ops.li_resnet_bottleneck(tf.zeros([1, 5, 5, 4]), 4, 2, 1,
                                  li_location='after_conv2')
