"""Winograd F(4x4, 3x3): a 3x3 convolution in 2.25x fewer multiplications.

Used for inference graphs that TensorFlow Lite runs (``conv_layers.conv2d``
with ``winograd=True``).  XNNPACK computes a direct 3x3 convolution at about
the machine's peak already, so fewer multiplications are the only gain left.

Each 4x4 block of outputs is computed from the 6x6 block of inputs around
it: ``Y = A^T [(G w G^T) * (B^T d B)] A`` (Lavin and Gray, "Fast Algorithms
for Convolutional Neural Networks", 2016; interpolation points 0, +-1, +-2
and infinity).  As TensorFlow ops:

* the input transform ``B^T d B`` of every block: one depthwise convolution
  (6x6 kernel, stride 4, depth multiplier 36);
* the products: 36 matrix products ``[blocks, in] x [in, out]``, one batched
  MatMul; ``G w G^T`` is computed from the weights in the graph, which the
  TensorFlow Lite converter folds into a constant;
* the output transform: one MatMul ``[16, 36] x [36, blocks * out]`` and a
  depth-to-space.

A dilated convolution is the same convolution undilated on each of the
``rate**2`` interleaved sub-maps (space-to-batch), as TensorFlow builds it.

The results are those of the direct convolution up to float rounding: the
largest difference is about 2e-5 of the output's range (fp32).

When it pays (``worth_it``) was measured in TensorFlow Lite, one layer at a
time (the table in docs/performance.md): few channels leave the transforms
(memory-bound) as costly as the saved products; high rates split the map
into sub-maps too small for 4x4 blocks.
"""
import numpy as np
import tensorflow.compat.v1 as tf

TILE = 4  # outputs per block side
_WINDOW = TILE + 2  # inputs per block side

# B^T, G and A^T of F(4x4, 3x3).
_INPUT_TRANSFORM = np.array([
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1]], np.float64)
_KERNEL_TRANSFORM = np.array([
    [1 / 4., 0, 0],
    [-1 / 6., -1 / 6., -1 / 6.],
    [-1 / 6., 1 / 6., -1 / 6.],
    [1 / 24., 1 / 12., 1 / 6.],
    [1 / 24., -1 / 12., 1 / 6.],
    [0, 0, 1]], np.float64)
_OUTPUT_TRANSFORM = np.array([
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1]], np.float64)

# The smallest channel counts (in and out) and the largest padded area,
# relative to the map, at which Winograd wins (docs/performance.md).
MIN_CHANNELS = 128
MAX_PADDED_AREA = 1.5


def _padded_side(size, rate):
  """The side of the block grid that covers a map side of ``size`` after the
  space-to-batch of ``rate``: in positions of the original map."""
  sub = -(-size // rate)
  return -(-sub // TILE) * TILE * rate


def worth_it(height, width, channels_in, channels_out, rate):
  """Whether Winograd is faster than the direct convolution for this
  3x3, stride-1, SAME layer (measured rule, see the module docstring)."""
  if min(channels_in, channels_out) < MIN_CHANNELS:
    return False
  padded = _padded_side(height, rate) * _padded_side(width, rate)
  return padded <= MAX_PADDED_AREA * height * width


def _transformed_filters(filters):
  """``G w G^T`` of every (in, out) pair: ``[36, in, out]``, as one
  product ``(G (x) G) [36, 9] x w [9, in * out]`` (no transpose)."""
  _, _, channels_in, channels_out = filters.shape.as_list()
  both = np.kron(_KERNEL_TRANSFORM, _KERNEL_TRANSFORM)
  flat = tf.matmul(tf.constant(both, filters.dtype),
                   tf.reshape(filters, [9, channels_in * channels_out]))
  return tf.reshape(flat, [_WINDOW * _WINDOW, channels_in, channels_out])


def _undilated(inputs, transformed, channels_out):
  """SAME 3x3 convolution of ``inputs`` ``[N, H, W, in]`` (static shape)
  with the transformed filters; ``[N, H, W, out]``."""
  batch, height, width, channels = inputs.shape.as_list()
  rows, cols = -(-height // TILE), -(-width // TILE)
  count = batch * rows * cols  # blocks
  padded = tf.pad(inputs, [[0, 0], [1, rows * TILE + 1 - height],
                           [1, cols * TILE + 1 - width], [0, 0]])
  # Depthwise kernel: output channel c * 36 + 6 * a + b holds
  # (B^T d B)[a, b] of input channel c.
  window = np.einsum('ap,bq->pqab', _INPUT_TRANSFORM, _INPUT_TRANSFORM)
  window = np.tile(window.reshape(_WINDOW, _WINDOW, 1, -1),
                   [1, 1, channels, 1])
  blocks = tf.nn.depthwise_conv2d(
      padded, tf.constant(window, inputs.dtype), [1, TILE, TILE, 1], 'VALID')
  blocks = tf.transpose(
      tf.reshape(blocks, [count, channels, _WINDOW * _WINDOW]), [2, 0, 1])
  products = tf.matmul(blocks, transformed)  # [36, blocks, out]
  output_transform = np.einsum('ia,jb->ijab', _OUTPUT_TRANSFORM,
                               _OUTPUT_TRANSFORM).reshape(TILE * TILE, -1)
  outputs = tf.matmul(tf.constant(output_transform, inputs.dtype),
                      tf.reshape(products,
                                 [_WINDOW * _WINDOW, count * channels_out]))
  outputs = tf.transpose(
      tf.reshape(outputs, [TILE * TILE, count, channels_out]), [1, 0, 2])
  outputs = tf.depth_to_space(
      tf.reshape(outputs, [batch, rows, cols, TILE * TILE * channels_out]),
      TILE)
  return outputs[:, :height, :width, :]


def conv3x3(inputs, filters, rate=1):
  """SAME-padded, stride-1, NHWC 3x3 convolution (dilated by ``rate``).

  Args:
    inputs: ``[N, H, W, in]``, all four static.
    filters: ``[3, 3, in, out]``.
    rate: dilation rate (int).

  Returns:
    ``[N, H, W, out]``, the convolution up to float rounding.
  """
  channels_out = filters.shape.as_list()[3]
  transformed = _transformed_filters(filters)
  if rate == 1:
    return _undilated(inputs, transformed, channels_out)
  _, height, width, _ = inputs.shape.as_list()
  pads = [[0, -(-height // rate) * rate - height],
          [0, -(-width // rate) * rate - width]]
  sub_maps = tf.space_to_batch_nd(inputs, [rate, rate], pads)
  outputs = _undilated(sub_maps, transformed, channels_out)
  return tf.batch_to_space_nd(outputs, [rate, rate], pads)
