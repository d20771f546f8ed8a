"""Small graph helpers shared by the DeepLab-style model code.

These are the pieces every head of the network needs: output-size arithmetic
(``scale_dimension``), bilinear resizing with corner alignment
(``resize_bilinear``) and the split separable convolution used by the ASPP
branches and the decoder.  Variable names follow the published LI-Convs
graphs: a separable convolution called ``<scope>`` owns
``<scope>/depthwise/depthwise_weights`` and ``<scope>/pointwise/weights``.
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import op_graphs


def scale_dimension(dim, scale):
  """Size of a feature map of extent ``dim`` after scaling by ``scale``.

  DeepLab crops are ``k * stride + 1`` pixels, so the corner-aligned output
  size is ``(dim - 1) * scale + 1``.  Works on Python numbers and on scalar
  tensors (the result is then an int32 tensor).
  """
  if isinstance(dim, tf.Tensor):
    return tf.cast((tf.cast(dim, tf.float32) - 1.0) * scale + 1.0, tf.int32)
  return int((float(dim) - 1.0) * scale + 1.0)


def resize_bilinear(images, size, output_dtype=tf.float32,
                    op_graph=op_graphs.ORIGINAL):
  """Corner-aligned bilinear resize of a 4-D tensor to ``size`` (h, w).

  The result is cast to ``output_dtype``; when ``size`` holds Python ints the
  static spatial shape is set, so downstream layers see known dimensions.
  With ``op_graph='fast'`` a resize to the tensor's own static size, which
  changes nothing (every weight is 1 or 0), is left out: DeepLab resizes
  single-scale logits to the size they already have.
  """
  static = all(isinstance(s, int) for s in size)
  if (op_graph == op_graphs.FAST and static and images.shape.ndims == 4 and
      images.shape[1:3].as_list() == list(size)):
    return tf.cast(images, output_dtype)
  resized = tf.image.resize_bilinear(images, size, align_corners=True)
  resized = tf.cast(resized, output_dtype)
  if static:
    resized.set_shape([None, size[0], size[1], None])
  return resized


def depthwise_then_pointwise(inputs, filters, kernel_size=3, rate=1,
                             weight_decay=0.00004,
                             depthwise_weights_initializer_stddev=0.33,
                             pointwise_weights_initializer_stddev=0.06):
  """The two convolutions of a split separable conv, in the current scope.

  Creates ``depthwise/depthwise_weights`` and ``pointwise/weights``; shared by
  ``split_separable_conv2d`` and the LI separable conv of ``conv_ops``.
  """
  net = conv_layers.depthwise_conv2d(
      inputs, kernel_size, rate=rate,
      weights_initializer=tf.truncated_normal_initializer(
          stddev=depthwise_weights_initializer_stddev),
      weights_regularizer=None, scope='depthwise')
  return conv_layers.conv2d(
      net, filters, 1,
      weights_initializer=tf.truncated_normal_initializer(
          stddev=pointwise_weights_initializer_stddev),
      weights_regularizer=slim.l2_regularizer(weight_decay),
      scope='pointwise')


def split_separable_conv2d(inputs, filters, kernel_size=3, rate=1,
                           weight_decay=0.00004,
                           depthwise_weights_initializer_stddev=0.33,
                           pointwise_weights_initializer_stddev=0.06,
                           scope=None):
  """Depthwise ``kernel_size`` conv at ``rate`` followed by a 1x1 projection.

  Keeping the two convolutions separate (instead of ``slim.separable_conv2d``
  with an output depth) puts batch norm and the activation after both of
  them.  Only the pointwise weights are L2 regularised.  Normaliser and
  activation come from the caller's ``slim.arg_scope``.
  """
  with tf.variable_scope(scope, default_name='separable_conv'):
    return depthwise_then_pointwise(
        inputs, filters, kernel_size, rate, weight_decay,
        depthwise_weights_initializer_stddev,
        pointwise_weights_initializer_stddev)


def round_depth(depth, divisible_by=8, min_depth=None):
  """Rounds ``depth`` to a multiple of ``divisible_by``.

  Rounds to the nearest multiple, never below ``min_depth`` (default
  ``divisible_by``) and never more than 10% below ``depth``.
  """
  floor = min_depth or divisible_by
  rounded = max(floor, int(depth + divisible_by / 2.0) // divisible_by *
                divisible_by)
  if rounded < 0.9 * depth:
    rounded += divisible_by
  return int(rounded)
