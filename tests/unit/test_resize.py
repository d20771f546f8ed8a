"""Bilinear resizing as matrix products: TensorFlow's numbers, forward and
backward, and the op graph each op_graph builds."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core import resize
from libs.core import utils
from li_programs.train import losses

pytestmark = pytest.mark.tf2


def _op_types(graph=None):
  graph = graph or tf.get_default_graph()
  return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize('in_size,out_size', [(9, 129), (3, 7), (5, 1),
                                              (1, 9), (8, 5), (4, 4)])
def test_interpolation_matrix_rows(in_size, out_size):
  matrix = resize.interpolation_matrix(in_size, out_size)
  assert matrix.shape == (out_size, in_size)
  np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=0, atol=1e-6)
  # Corner-aligned: the first and last outputs are the first and last
  # inputs (one output: the first).
  assert matrix[0, 0] == 1.0
  if out_size > 1:
    assert matrix[-1, -1] == pytest.approx(1.0, abs=1e-6)
  assert (np.count_nonzero(matrix, axis=1) <= 2).all()


def test_interpolation_matrix_rejects_empty_sizes():
  with pytest.raises(ValueError, match='positive'):
    resize.interpolation_matrix(0, 4)


def _resized_and_gradient(resize_fn, x, upstream):
  """Values of ``resize_fn(images)`` and of its gradient, and the op types
  of the graph that computed them."""
  with tf.Graph().as_default() as graph:
    images = tf.constant(x)
    resized = resize_fn(images)
    grad = tf.gradients(resized, images, upstream)[0]
    assert resized.shape.as_list() == list(upstream.shape)
    with tf.Session() as sess:
      values = sess.run([resized, grad])
  return values, _op_types(graph)


@pytest.mark.parametrize('shape,size', [
    ((2, 9, 9, 5), (129, 129)),   # the training loss's upsampling
    ((1, 3, 4, 2), (7, 10)),      # non-square
    ((3, 8, 6, 2), (5, 4)),       # downsampling
    ((2, 1, 1, 4), (9, 9)),       # image pooling: one value spread
    ((2, 5, 5, 3), (1, 1)),
])
def test_matches_tensorflow_forward_and_backward(shape, size):
  rng = np.random.RandomState(sum(shape))
  x = rng.randn(*shape).astype(np.float32)
  upstream = rng.randn(shape[0], size[0], size[1],
                       shape[3]).astype(np.float32)
  (fast, fast_grad), fast_ops = _resized_and_gradient(
      lambda images: resize.resize_bilinear(images, list(size)), x, upstream)
  (slow, slow_grad), slow_ops = _resized_and_gradient(
      lambda images: tf.image.resize_bilinear(images, size,
                                              align_corners=True),
      x, upstream)
  np.testing.assert_allclose(fast, slow, rtol=0,
                             atol=1e-6 * np.abs(slow).max())
  np.testing.assert_allclose(fast_grad, slow_grad, rtol=0,
                             atol=1e-6 * np.abs(slow_grad).max())
  # Built as MatMuls: neither TensorFlow's resize nor its gradient runs.
  assert {'ResizeBilinear', 'ResizeBilinearGrad'} <= slow_ops
  assert not {'ResizeBilinear', 'ResizeBilinearGrad'} & fast_ops


def test_unknown_batch_is_resized_as_matmuls():
  x = np.arange(36, dtype=np.float32).reshape(2, 3, 3, 2)
  with tf.Graph().as_default() as graph:
    images = tf.placeholder(tf.float32, [None, 3, 3, 2])
    resized = resize.resize_bilinear(images, [5, 5])
    assert resized.shape.as_list() == [None, 5, 5, 2]
    grad = tf.gradients(resized, images)[0]
    with tf.Session() as sess:
      value, grad = sess.run([resized, grad], {images: x})
  assert 'ResizeBilinear' not in _op_types(graph)
  # x[b, i, j, c] = 18 b + 6 i + 2 j + c is linear, so corner-aligned
  # interpolation from 3 to 5 keeps it: output (I, J) sits at (I/2, J/2).
  b, rows, cols, c = np.meshgrid(range(2), range(5), range(5), range(2),
                                 indexing='ij')
  np.testing.assert_allclose(value, 18 * b + 3 * rows + cols + c,
                             rtol=1e-6, atol=1e-5)
  # Under a unit upstream each input's gradient is the weight it spreads:
  # 25 outputs per channel and image, shared out over the 9 inputs.
  np.testing.assert_allclose(grad.sum(axis=(1, 2)), 25.0, rtol=1e-6)


def test_falls_back_to_tensorflow_where_it_cannot_apply():
  with tf.Graph().as_default():
    dynamic = tf.placeholder(tf.float32, [1, None, None, 2])
    for images, size, op_graph in [
        (dynamic, [5, 5], 'fast'),                    # unknown map size
        (tf.zeros([1, 3, 3, 2]), tf.placeholder(tf.int32, [2]), 'fast'),
        (tf.zeros([1, 3, 3, 2]), [5, 5], 'original')]:
      resized = resize.resize_bilinear(images, size, op_graph)
      assert resized.op.type == 'ResizeBilinear'


def test_same_size_is_the_identity():
  with tf.Graph().as_default():
    images = tf.zeros([2, 9, 9, 3])
    assert resize.resize_bilinear(images, [9, 9]) is images
    # utils.resize_bilinear (the model's): skipped in the fast graph only.
    fast = utils.resize_bilinear(images, [9, 9], images.dtype, 'fast')
    original = utils.resize_bilinear(images, [9, 9], images.dtype,
                                     'original')
    assert fast is images
    assert original.op.type == 'ResizeBilinear'
    assert utils.resize_bilinear(images, [17, 17], images.dtype,
                                 'fast').op.type == 'ResizeBilinear'


@pytest.mark.parametrize('ignore', [False, True])
def test_loss_fast_graph_matches_original(ignore):
  # The training loss upsamples 9x9 logits to the 65x65 labels; the fast
  # graph's loss and gradient are the original's up to float rounding.
  rng = np.random.RandomState(3)
  logits = rng.randn(2, 9, 9, 7).astype(np.float32)
  labels = rng.randint(0, 7, (2, 65, 65, 1)).astype(np.int32)
  if ignore:
    labels[:, :20] = 255
  results = {}
  for op_graph in ('fast', 'original'):
    with tf.Graph().as_default() as graph:
      logits_t = tf.constant(logits)
      loss = losses.softmax_cross_entropy_loss(
          logits_t, tf.constant(labels), 7, 255, op_graph=op_graph)
      grad = tf.gradients(loss, logits_t)[0]
      with tf.Session() as sess:
        results[op_graph] = sess.run([loss, grad])
      has_resize = 'ResizeBilinear' in _op_types(graph)
      assert has_resize == (op_graph == 'original')
  (fast_loss, fast_grad), (loss, grad) = results['fast'], results['original']
  assert fast_loss == pytest.approx(loss, rel=1e-5)
  np.testing.assert_allclose(fast_grad, grad, rtol=0,
                             atol=1e-5 * np.abs(grad).max())
