"""Atrous convolutions from taps: same variables and numbers as slim's."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import atrous
from libs.core.batch_norm import batch_norm


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
  assert atrous.use_taps(size[0], size[1], (3, 3), rate,
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
    taps = atrous.dilated_conv_from_taps(x, f, rate, depthwise=depthwise)
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


def _build(method, layer, rate):
  """One layer under an arg scope like the models'; returns the graph
  facts that checkpoints and training depend on, and the output."""
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(3)
    x = tf.random.normal([2, 9, 9, 8], seed=1)
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                        normalizer_fn=batch_norm,
                        weights_regularizer=slim.l2_regularizer(0.1),
                        outputs_collections='ends'), \
        slim.arg_scope([batch_norm], is_training=True, scale=True), \
        slim.arg_scope([atrous.conv2d, atrous.depthwise_conv2d],
                       method=method):
      with tf.variable_scope('block'):
        if layer == 'conv':
          y = atrous.conv2d(x, 4, 3, rate=rate, scope='conv2')
        else:
          y = atrous.depthwise_conv2d(x, 3, rate=rate, scope='depthwise')
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
  taps = _build(atrous.TAPS, layer, rate)
  slim_graph = _build(atrous.SPACE_TO_BATCH, layer, rate)
  assert 'SpaceToBatchND' in slim_graph['ops']
  assert 'SpaceToBatchND' not in taps['ops']
  for key in ('variables', 'regularization_losses', 'update_ops', 'ends'):
    assert taps[key] == slim_graph[key], key
  np.testing.assert_allclose(taps['output'], slim_graph['output'], rtol=1e-4,
                             atol=1e-4)


def test_cases_the_taps_do_not_cover_use_slim():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.zeros([1, 9, 9, 4])
    atrous.conv2d(x, 4, 3, rate=2, scope='mid_rate')   # 5x5 maps: slim
    atrous.conv2d(x, 4, 3, stride=2, scope='strided')
    atrous.depthwise_conv2d(x, 3, rate=6, scope='all_taps_reach')
    unknown = tf.placeholder(tf.float32, [1, None, None, 4])
    atrous.conv2d(unknown, 4, 3, rate=8, scope='unknown_size')
  types = [op.type for op in graph.get_operations()]
  assert types.count('SpaceToBatchND') == 3


def test_unknown_method_is_one_line_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='atrous_method must be one of taps, '
                       'space_to_batch'):
      atrous.conv2d(tf.zeros([1, 9, 9, 4]), 4, 3, rate=8, method='fast')
