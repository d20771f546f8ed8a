"""The fast op graph's layers: same variables and numbers as slim's."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core.batch_norm import batch_norm

pytestmark = pytest.mark.tf2


@pytest.mark.parametrize('size,rate,depthwise,expected', [
    ((9, 9), 8, False, True),     # 2x2 space-to-batch maps
    ((9, 9), 4, False, True),     # 3x3
    ((9, 9), 2, False, False),    # 5x5
    ((33, 33), 4, False, False),  # 9x9
    ((9, 9), 12, True, True),     # only the centre reaches the map
    ((9, 9), 6, True, False),     # every tap reaches it
    ((33, 9), 12, False, True),   # one short axis is enough
])
def test_use_taps_rule(size, rate, depthwise, expected):
  assert conv_layers.use_taps(size[0], size[1], (3, 3), rate,
                         depthwise) is expected


@pytest.mark.parametrize('height,width,rate,kernel,depthwise', [
    (9, 9, 8, 3, False), (9, 9, 2, 3, False), (9, 9, 18, 3, False),
    (5, 7, 4, 3, False), (9, 9, 4, 5, False), (9, 9, 12, 3, True),
    (9, 9, 6, 3, True), (5, 7, 4, 3, True)])
def test_taps_match_space_to_batch_with_gradients(height, width, rate, kernel,
                                                  depthwise):
  rng = np.random.RandomState(height * rate + kernel)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(rng.randn(2, height, width, 6).astype(np.float32))
    f = tf.constant(rng.randn(kernel, kernel, 6,
                              1 if depthwise else 5).astype(np.float32))
    taps = conv_layers.dilated_conv_from_taps(x, f, rate, depthwise=depthwise)
    if depthwise:
      reference = tf.nn.depthwise_conv2d(x, f, [1, 1, 1, 1], 'SAME',
                                         rate=[rate, rate])
    else:
      reference = tf.nn.convolution(x, f, 'SAME', dilation_rate=[rate, rate])
    grads = [tf.gradients(tf.reduce_sum(tf.square(y)), [x, f])
             for y in (taps, reference)]
    with tf.Session() as sess:
      out, ref, (gx, gf), (rx, rf) = sess.run([taps, reference] + grads)
  assert out.shape == ref.shape
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(gx, rx, rtol=1e-5, atol=1e-3)
  np.testing.assert_allclose(gf, rf, rtol=1e-5, atol=2e-3)


def _build(op_graph, layer, rate, is_training=True, stride=1, kernel=3,
           size=9, channels=(8, 4), winograd=False):
  """One layer under an arg scope like the models'; returns the graph
  facts that checkpoints and training depend on, and the output.

  ``size``: the input map's side; ``channels``: (in, out) of a regular
  layer (a depthwise one keeps ``in``).
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(3)
    x = tf.random.normal([2, size, size, channels[0]], seed=1)
    # Moving statistics away from 0 / 1, so folding them is tested.
    statistics = {'moving_mean': tf.random_normal_initializer(seed=4),
                  'moving_variance': tf.random_uniform_initializer(
                      0.5, 2.0, seed=5),
                  'gamma': tf.random_uniform_initializer(0.5, 2.0, seed=6),
                  'beta': tf.random_normal_initializer(seed=7)}
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                        normalizer_fn=batch_norm,
                        activation_fn=tf.nn.relu6,
                        weights_regularizer=slim.l2_regularizer(0.1),
                        outputs_collections='ends'), \
        slim.arg_scope([batch_norm], is_training=is_training, scale=True,
                       param_initializers=statistics), \
        slim.arg_scope([conv_layers.conv2d, conv_layers.depthwise_conv2d],
                       op_graph=op_graph), \
        slim.arg_scope([conv_layers.conv2d], winograd=winograd):
      with tf.variable_scope('block'):
        if layer == 'conv':
          y = conv_layers.conv2d(x, channels[1], kernel, rate=rate,
                                 stride=stride, scope='conv2')
        else:
          y = conv_layers.depthwise_conv2d(x, 3, rate=rate, stride=stride,
                                           scope='depthwise')
    facts = {
        'variables': [(v.op.name, v.shape.as_list(), v in
                       tf.trainable_variables(), v in tf.model_variables())
                      for v in tf.global_variables()],
        'regularization_losses': len(tf.losses.get_regularization_losses()),
        'update_ops': len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)),
        'ends': [t.aliases for t in tf.get_collection('ends')],
        'ops': sorted({op.type for op in graph.get_operations()}),
    }
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      facts['output'] = sess.run(y)
  return facts


@pytest.mark.parametrize('layer,rate', [('conv', 8), ('depthwise', 12)])
def test_layers_create_what_slim_creates(layer, rate):
  taps = _build(conv_layers.FAST, layer, rate)
  slim_graph = _build(conv_layers.ORIGINAL, layer, rate)
  assert 'SpaceToBatchND' in slim_graph['ops']
  assert 'SpaceToBatchND' not in taps['ops']
  for key in ('variables', 'regularization_losses', 'update_ops', 'ends'):
    assert taps[key] == slim_graph[key], key
  np.testing.assert_allclose(taps['output'], slim_graph['output'], rtol=1e-4,
                             atol=1e-4)


@pytest.mark.parametrize('rate,stride', [(1, 1), (1, 2), (2, 1), (12, 1)])
def test_inference_folds_batch_norm_into_depthwise_weights(rate, stride):
  folded = _build(conv_layers.FAST, 'depthwise', rate, is_training=False,
                  stride=stride)
  slim_graph = _build(conv_layers.ORIGINAL, 'depthwise', rate,
                      is_training=False, stride=stride)
  assert 'FusedBatchNormV3' in slim_graph['ops'] or (
      'FusedBatchNorm' in slim_graph['ops'])
  assert not [op for op in folded['ops'] if op.startswith('FusedBatchNorm')]
  for key in ('variables', 'regularization_losses', 'update_ops', 'ends'):
    assert folded[key] == slim_graph[key], key
  assert np.abs(slim_graph['output']).max() > 1.0
  np.testing.assert_allclose(folded['output'], slim_graph['output'],
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('rate', [1, 6])
def test_training_pointwise_layers_are_matrix_products(rate):
  # A 1x1 layer's rate changes nothing; its variables and outputs are
  # slim's, from a MatMul instead of a Conv2D.
  fast = _build(conv_layers.FAST, 'conv', rate, kernel=1)
  slim_graph = _build(conv_layers.ORIGINAL, 'conv', rate, kernel=1)
  assert 'Conv2D' in slim_graph['ops'] and 'MatMul' not in slim_graph['ops']
  assert 'MatMul' in fast['ops'] and 'Conv2D' not in fast['ops']
  for key in ('variables', 'regularization_losses', 'update_ops', 'ends'):
    assert fast[key] == slim_graph[key], key
  np.testing.assert_allclose(fast['output'], slim_graph['output'],
                             rtol=1e-5, atol=1e-5)
  # Strided 1x1 layers and folded (inference) ones stay convolutions.
  assert 'MatMul' not in _build(conv_layers.FAST, 'conv', 1, kernel=1,
                                stride=2)['ops']
  assert 'MatMul' not in _build(conv_layers.FAST, 'conv', 1, kernel=1,
                                is_training=False)['ops']


def test_inference_takes_winograd_only_where_asked_and_worth_it():
  # 128 channels at 12x12: Winograd pays (libs/core/winograd.py).
  wide = dict(is_training=False, size=12, channels=(128, 128))
  winograd = _build(conv_layers.FAST, 'conv', 1, winograd=True, **wide)
  direct = _build(conv_layers.FAST, 'conv', 1, **wide)
  assert 'Conv2D' in direct['ops'] and 'Conv2D' not in winograd['ops']
  assert {'DepthwiseConv2dNative', 'BatchMatMulV2'} <= set(winograd['ops'])
  for key in ('variables', 'regularization_losses', 'update_ops', 'ends'):
    assert winograd[key] == direct[key], key  # checkpoints load unchanged
  assert np.abs(direct['output']).max() > 1.0
  np.testing.assert_allclose(winograd['output'], direct['output'], rtol=0,
                             atol=2e-5 * np.abs(direct['output']).max())
  # Too few channels, or a rate whose sub-maps are too small: direct.
  assert 'Conv2D' in _build(conv_layers.FAST, 'conv', 1, winograd=True,
                            **dict(wide, channels=(64, 64)))['ops']
  wide.update(size=33)
  assert 'Conv2D' not in _build(conv_layers.FAST, 'conv', 2, winograd=True,
                                **wide)['ops']
  assert 'Conv2D' in _build(conv_layers.FAST, 'conv', 4, winograd=True,
                            **wide)['ops']


def test_relu_is_skipped_only_on_relu_outputs():
  with tf.Graph().as_default():
    x = tf.constant([[-1.0, 2.0]])
    six = tf.nn.relu6(x)
    assert conv_layers.relu(six) is six
    assert conv_layers.relu(x).op.type == 'Relu'
    assert conv_layers.relu(six, op_graph='original') is not six


def test_cases_the_taps_do_not_cover_use_slim():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.zeros([1, 9, 9, 4])
    conv_layers.conv2d(x, 4, 3, rate=2, scope='mid_rate')   # 5x5 maps: slim
    conv_layers.conv2d(x, 4, 3, stride=2, scope='strided')
    conv_layers.depthwise_conv2d(x, 3, rate=6, scope='all_taps_reach')
    unknown = tf.placeholder(tf.float32, [1, None, None, 4])
    conv_layers.conv2d(unknown, 4, 3, rate=8, scope='unknown_size')
  types = [op.type for op in graph.get_operations()]
  assert types.count('SpaceToBatchND') == 3


def test_unknown_method_is_one_line_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError,
                       match='op_graph must be one of fast, original'):
      conv_layers.conv2d(tf.zeros([1, 9, 9, 4]), 4, 3, rate=8,
                         op_graph='taps')
