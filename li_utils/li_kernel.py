"""The LI kernel and the argument checks of the LI layers.

Shared by the graph-mode layer (``conv_ops.lateral_inhibition_layer``) and
the Keras layer (``layers.LateralInhibition``), so that both compute the
same kernel from the same weights::

    k[i, j, c] = g[i, j] * (1 at the centre, -w[c] elsewhere)
    g[i, j]    = exp(-d(i, j)^2 / (2 * sigma^2))

and convolve it depthwise, dilated by ``li_rate``.
"""
import numpy as np
import tensorflow.compat.v1 as tf

LI_WEIGHTS_NAME = 'li_weights'
DATA_FORMATS = ('NHWC', 'NCHW')
PADDINGS = ('SAME', 'VALID')


def check_zone(li_zone, name='li_zone'):
  """One-line ValueError naming ``name`` unless ``li_zone`` is an odd
  positive integer (the LI kernel needs a centre)."""
  if isinstance(li_zone, bool) or not isinstance(li_zone, (int, np.integer)):
    raise ValueError('%s must be an odd positive integer, got %r' %
                     (name, li_zone))
  if li_zone < 1 or li_zone % 2 == 0:
    raise ValueError('%s must be an odd positive integer (1, 3, 5, 7, '
                     '...), got %d' % (name, li_zone))


def gaussian_decay(li_zone, li_decay_std):
  """The ``[z, z]`` Gaussian fall-off of the LI kernel, 1.0 at the centre."""
  check_zone(li_zone)
  if not li_decay_std > 0:
    raise ValueError('li_decay_std must be > 0, got %r' % (li_decay_std,))
  centre = li_zone // 2
  offsets = np.arange(li_zone, dtype=np.float64) - centre
  squared_distance = offsets[:, None] ** 2 + offsets[None, :] ** 2
  return np.exp(-squared_distance / (2.0 * float(li_decay_std) ** 2))


def create_lateral_inhibition_kernel(li_weights, li_zone=3, li_decay_std=1.0,
                                     depth_multiplier=1):
  """Builds the depthwise LI kernel from per-channel inhibition weights.

  Args:
    li_weights: float tensor or variable ``[1, 1, C, 1]``.
    li_zone: odd kernel size ``z``.
    li_decay_std: sigma of the Gaussian fall-off.
    depth_multiplier: output channels per input channel; every copy uses the
      same kernel.

  Returns:
    Tensor ``[z, z, C, depth_multiplier]``.
  """
  decay = gaussian_decay(li_zone, li_decay_std)
  centre_mask = np.zeros((li_zone, li_zone), np.float64)
  centre_mask[li_zone // 2, li_zone // 2] = 1.0
  # A TensorFlow dtype (float32_ref for a graph variable) or a Keras 3
  # variable's dtype name.
  dtype = tf.as_dtype(li_weights.dtype).base_dtype
  # Centre tap: decay(centre) * 1 = 1; every other tap: -decay * w.
  centre_part = tf.constant((decay * centre_mask)[:, :, None, None], dtype)
  neighbour_part = tf.constant((decay * (1.0 - centre_mask))[:, :, None, None],
                               dtype)
  kernel = centre_part - neighbour_part * li_weights
  if depth_multiplier > 1:
    kernel = tf.tile(kernel, [1, 1, 1, depth_multiplier])
  return kernel


def clip_range(li_weight_clip_values):
  """``(min, max)`` the weights are kept in, or None for no clipping."""
  if li_weight_clip_values is None:
    return None
  try:
    clip_min, clip_max = [float(v) for v in li_weight_clip_values]
  except (TypeError, ValueError) as err:
    raise ValueError('li_weight_clip_values must be a pair (min, max), got %r'
                     % (li_weight_clip_values,)) from err
  if clip_min > clip_max:
    raise ValueError('li_weight_clip_values must satisfy min <= max, got %r'
                     % (li_weight_clip_values,))
  return clip_min, clip_max


def check_layer_arguments(layer, li_zone, li_rate, stride, padding,
                          data_format):
  """One-line ValueErrors, naming ``layer``, for bad layer arguments."""
  if data_format not in DATA_FORMATS:
    raise ValueError('%s: data_format must be one of %s, got %r'
                     % (layer, ', '.join(DATA_FORMATS), data_format))
  if padding not in PADDINGS:
    raise ValueError("%s: padding must be 'SAME' or 'VALID', got %r"
                     % (layer, padding))
  check_zone(li_zone)
  if int(li_rate) < 1 or int(stride) < 1:
    raise ValueError('%s: li_rate and stride must be >= 1, got li_rate=%r '
                     'stride=%r' % (layer, li_rate, stride))
  if int(li_rate) > 1 and int(stride) > 1:
    raise ValueError('%s: li_rate > 1 needs stride 1, got li_rate=%r '
                     'stride=%r' % (layer, li_rate, stride))


def input_channels(layer, shape, data_format):
  """The channel count of a 4-D input ``shape``; ValueError otherwise."""
  shape = tf.TensorShape(shape)
  if shape.ndims != 4:
    raise ValueError('%s expects a 4-D input (batch, height, width, channels '
                     'for NHWC), got shape %s' % (layer, shape))
  channel_axis = 3 if data_format == 'NHWC' else 1
  num_channels = tf.dimension_value(shape[channel_axis])
  if num_channels is None:
    raise ValueError('%s needs a known channel dimension (axis %d), got '
                     'shape %s' % (layer, channel_axis, shape))
  return num_channels


def apply_kernel(inputs, kernel, stride, padding, li_rate, data_format):
  """The depthwise convolution of ``inputs`` with the LI kernel."""
  net = inputs
  if data_format == 'NCHW':
    # Depthwise NCHW kernels exist on GPU only; transposing keeps one path.
    net = tf.transpose(net, [0, 2, 3, 1])
  net = tf.nn.depthwise_conv2d(net, kernel, strides=[1, stride, stride, 1],
                               padding=padding, rate=[li_rate, li_rate])
  if data_format == 'NCHW':
    net = tf.transpose(net, [0, 3, 1, 2])
  return net
