"""Corner-aligned bilinear resizing as two matrix products (``op_graph``).

``tf.image.resize_bilinear(x, size, align_corners=True)`` is linear and
separable: per image and channel, ``out = R x C^T``, where row ``i`` of
``R`` (``interpolation_matrix``) holds the two weights output row ``i``
takes from its neighbouring input rows, and ``C`` the same for columns.
Written as two batched matrix products, the forward and the backward pass
run as MatMuls.  TensorFlow's own backward, ``ResizeBilinearGrad``, adds
one element at a time into the small input; on the training loss's
upsampled logits (151 classes, batch 4, 129x129) it was the costliest op
of the loss (docs/performance.md).  The numbers are the same up to float
summation order.

A resize to the input's own size is the identity (every weight is 1 or 0)
and is skipped.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from libs.core.op_graphs import FAST


def interpolation_matrix(in_size, out_size):
  """``[out_size, in_size]`` float32 weights of corner-aligned bilinear
  interpolation along one axis.

  Positions are computed as TensorFlow's kernel computes them, in float32
  (``i * (in_size - 1) / (out_size - 1)``); output ``i`` takes ``1 - f``
  of input ``floor(p)`` and ``f`` of ``min(ceil(p), in_size - 1)``, with
  ``f = p - floor(p)``.
  """
  if in_size < 1 or out_size < 1:
    raise ValueError('sizes must be positive, got %r -> %r'
                     % (in_size, out_size))
  if out_size > 1:
    scale = np.float32(in_size - 1) / np.float32(out_size - 1)
  else:
    scale = np.float32(in_size) / np.float32(out_size)
  positions = np.arange(out_size, dtype=np.float32) * scale
  lower = np.floor(positions)
  fraction = positions - lower
  upper = np.minimum(np.ceil(positions), in_size - 1).astype(np.int64)
  lower = lower.astype(np.int64)
  matrix = np.zeros((out_size, in_size), np.float32)
  rows = np.arange(out_size)
  np.add.at(matrix, (rows, lower), np.float32(1) - fraction)
  np.add.at(matrix, (rows, upper), fraction)
  return matrix


def _static_size(size):
  """``size`` as two Python ints when known while building, else None."""
  static = tf.get_static_value(tf.convert_to_tensor(size))
  if static is None or len(static) != 2:
    return None
  return [int(d) for d in static]


def _as_matmuls(images, out_height, out_width):
  """The resize of ``images`` [B, h, w, C] (static h, w, C) as two batched
  MatMuls, with the backward pass written as two more."""
  _, height, width, channels = images.shape.as_list()
  rows = tf.constant(interpolation_matrix(height, out_height),
                     images.dtype.base_dtype)
  cols = tf.constant(interpolation_matrix(width, out_width),
                     images.dtype.base_dtype)

  @tf.custom_gradient
  def resize(x):
    # Along the width, every (image, row) at once: [B*h, w, C] -> [B*h, W, C].
    by_cols = tf.matmul(cols, tf.reshape(x, [-1, width, channels]))
    # Along the height, every image: [B, h, W*C] -> [B, H, W*C].
    out = tf.matmul(rows, tf.reshape(by_cols,
                                     [-1, height, out_width * channels]))

    def grad(upstream):
      # The transposed products, the large tensor contracted first.
      back = tf.matmul(cols, tf.reshape(upstream, [-1, out_width, channels]),
                       transpose_a=True)
      back = tf.matmul(rows, tf.reshape(back,
                                        [-1, out_height, width * channels]),
                       transpose_a=True)
      return tf.reshape(back, tf.shape(x))

    return tf.reshape(out, [-1, out_height, out_width, channels]), grad

  resized = resize(images)
  resized.set_shape(images.shape[:1].concatenate(
      [out_height, out_width, channels]))
  return resized


def resize_bilinear(images, size, op_graph=FAST):
  """``tf.image.resize_bilinear(images, size, align_corners=True)``.

  With ``op_graph='fast'``, a float ``images`` of static height, width and
  channels and a static ``size``, computed as matrix products (the module
  docstring), or returned as it is when ``size`` is its own; otherwise
  TensorFlow's op.
  """
  dims = _static_size(size)
  static = images.shape.ndims == 4 and all(
      d is not None for d in images.shape.as_list()[1:])
  if op_graph != FAST or dims is None or not static or (
      not images.dtype.is_floating):
    return tf.image.resize_bilinear(images, size, align_corners=True)
  if images.shape.as_list()[1:3] == dims:
    return images
  return _as_matmuls(images, dims[0], dims[1])
