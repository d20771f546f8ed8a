"""Convolution layers with a faster equivalent op graph (``op_graph``).

``conv2d`` and ``depthwise_conv2d`` create what ``slim.conv2d`` and
``slim.separable_conv2d(..., None, ...)`` create and compute the same
numbers; with ``op_graph='original'`` they call slim, op for op the
original graph.  With ``op_graph='fast'`` (the default):

* atrous convolutions are computed from the taps that reach the map where
  that is cheaper (below);
* unfolded 1x1, stride-1 convolutions (all of them while training) are
  one matrix product (``pointwise_conv``);
* at inference a depthwise convolution followed by ``batch_norm`` has the
  BatchNorm folded into its weights (see ``depthwise_conv2d``);
* ``relu`` of a tensor that is already a ReLU/ReLU6 output is skipped;
* with ``winograd=True`` (the graphs converted to TensorFlow Lite), 3x3
  stride-1 convolutions with enough channels are computed by Winograd
  F(4x4, 3x3) (``libs/core/winograd.py``).

Atrous convolutions: TensorFlow builds a dilated convolution as
``SpaceToBatchND -> conv -> BatchToSpaceND``: the feature map is padded to a
multiple of the rate and cut into ``rate**2`` small maps. On the small maps
of segmentation at output stride 16 (9x9 at a 129x129 crop) that padding is
most of the work: at rate 8 the padded batch holds 12.6x the real positions,
and at the ASPP rates 12 and 18 every tap but the centre lands in the zero
padding. The backward pass of these convolutions took most of the op time
of an LI-ResNet-50 training step (crop 129; docs/performance.md).

The taps compute the same sum directly where that is cheaper. A tap whose
offset puts it wholly in the padding contributes nothing and is dropped; the
input shifted under each remaining tap (zero where it leaves the map) is
stacked along the channels and multiplied with the matching kernel rows in
one 1x1 convolution (regular), or multiplied and summed channel by channel
(depthwise). Measured forward plus backward (the table in
docs/performance.md), it wins by far where the space-to-batch maps would be
tiny and is level or mixed elsewhere, so ``use_taps`` takes it only for the
former.

Variables, initialisers, regularisers, normaliser, activation and
collections are those of ``slim.conv2d`` / ``slim.separable_conv2d``
(defaults from the caller's ``arg_scope`` for those two functions), so
checkpoints are unchanged; results agree up to float summation order.
Stride > 1, rate 1, VALID padding or an unknown spatial size keep
space-to-batch (or no dilation); NCHW always uses slim.
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.ops.arg_scope import arg_scope_func_key

from libs.core import batch_norm as batch_norm_lib
from libs.core import winograd as winograd_lib
from libs.core.op_graphs import FAST, OP_GRAPHS
from libs.core.op_graphs import ORIGINAL  # noqa: F401  (re-exported)


def check_op_graph(op_graph, name='op_graph'):
  if op_graph not in OP_GRAPHS:
    raise ValueError('%s must be one of %s, got %r'
                     % (name, ', '.join(OP_GRAPHS), op_graph))


def _reaching_taps(size, kernel, rate):
  """``[(index, offset)]`` of the kernel taps along one axis that see at
  least one input position of a map of ``size`` (SAME padding, stride 1)."""
  start = rate * (kernel - 1) // 2
  taps = [(i, i * rate - start) for i in range(kernel)]
  return [(i, offset) for i, offset in taps if abs(offset) < size]


def use_taps(height, width, kernel_size, rate, depthwise):
  """Whether the taps are the cheaper way for this layer (see the table).

  Depthwise: only when nothing but the centre tap reaches the map (the
  layer is then a per-channel scale).  Regular: also when a space-to-batch
  map would be smaller than 4 positions along an axis.
  """
  kh, kw = kernel_size
  rows = _reaching_taps(height, kh, rate)
  cols = _reaching_taps(width, kw, rate)
  if len(rows) == 1 and len(cols) == 1:
    return True
  if depthwise:
    return False
  return -(-height // rate) < 4 or -(-width // rate) < 4


def _static_size(inputs):
  height = tf.dimension_value(inputs.shape[1])
  width = tf.dimension_value(inputs.shape[2])
  if height is None or width is None:
    return None
  return height, width


def _shifted(inputs, dy, dx, height, width):
  """``out[y, x] = inputs[y + dy, x + dx]``, zero outside the map.

  Cropping then padding (not slicing a padded copy) keeps the gradient to
  the size of ``inputs``.
  """
  window = inputs
  if dy or dx:
    window = inputs[:, max(0, dy):height + min(0, dy),
                    max(0, dx):width + min(0, dx), :]
  pads = [[0, 0], [max(0, -dy), max(0, dy)], [max(0, -dx), max(0, dx)],
          [0, 0]]
  if any(p for pair in pads for p in pair):
    window = tf.pad(window, pads)
  return window


def dilated_conv_from_taps(inputs, filters, rate, depthwise=False):
  """SAME-padded, stride-1, NHWC dilated convolution of ``inputs``.

  Args:
    inputs: ``[N, H, W, C]`` with static ``H`` and ``W``.
    filters: ``[kh, kw, C, out]`` (regular) or ``[kh, kw, C, 1]``
      (depthwise).
    rate: dilation rate (int).
    depthwise: depthwise convolution with depth multiplier 1.

  Returns:
    The convolution output, ``[N, H, W, out]`` (``C`` for depthwise).
  """
  height, width = _static_size(inputs)
  kh, kw = [tf.dimension_value(d) for d in filters.shape[:2]]
  rows = _reaching_taps(height, kh, rate)
  cols = _reaching_taps(width, kw, rate)
  taps = [(i, j, _shifted(inputs, dy, dx, height, width))
          for i, dy in rows for j, dx in cols]
  if depthwise:
    return tf.add_n([window * filters[i, j, :, 0] for i, j, window in taps])
  if len(taps) == 1:
    i, j, window = taps[0]
    kernel = filters[i:i + 1, j:j + 1]
  else:
    window = tf.concat([t[2] for t in taps], axis=3)
    kernel = tf.concat([filters[i, j] for i, j, _ in taps], axis=0)
    kernel = tf.expand_dims(tf.expand_dims(kernel, 0), 0)
  return pointwise_conv(window, kernel)


def pointwise_conv(inputs, filters):
  """1x1, stride-1 NHWC convolution as one matrix product.

  ``[N*H*W, in] x [in, out]``: forward and backward (both gradients) of the
  1x1 layers of MobileNetV2 in training take less time as MatMul than as
  Conv2D, on both TensorFlow versions (docs/performance.md).

  Args:
    inputs: ``[N, H, W, in]`` with static ``in``.
    filters: ``[1, 1, in, out]``.
  """
  channels, outputs = [tf.dimension_value(d) for d in filters.shape[2:]]
  flat = tf.matmul(tf.reshape(inputs, [-1, channels]),
                   tf.reshape(filters, [channels, outputs]))
  result = tf.reshape(flat, tf.concat([tf.shape(inputs)[:3], [outputs]], 0))
  result.set_shape(inputs.shape[:3].concatenate([outputs]))
  return result


def _pointwise(kernel_size, stride):
  return (tuple(kernel_size) == (1, 1) and
          slim.utils.two_element_tuple(stride) == (1, 1))


# The keyword defaults of slim.conv2d / slim.separable_conv2d that the taps
# layers honour; the caller's arg_scope for those functions overrides them.
_SLIM_DEFAULTS = {
    'padding': 'SAME', 'data_format': None, 'activation_fn': tf.nn.relu,
    'normalizer_fn': None, 'normalizer_params': None,
    'weights_initializer': None, 'weights_regularizer': None,
    'biases_initializer': tf.zeros_initializer(), 'biases_regularizer': None,
    'reuse': None, 'variables_collections': None,
    'outputs_collections': None, 'trainable': True}


def _slim_kwargs(slim_fn, explicit):
  """slim's defaults, overridden by ``slim_fn``'s arg scope, then by
  ``explicit``."""
  kwargs = dict(_SLIM_DEFAULTS)
  kwargs.update(slim.current_arg_scope().get(arg_scope_func_key(slim_fn), {}))
  kwargs.update(explicit)
  if kwargs['weights_initializer'] is None:
    kwargs['weights_initializer'] = slim.xavier_initializer()
  return kwargs


def _same_stride1_rate(inputs, rate, stride, kwargs):
  """The layer's dilation rate if it is a SAME, stride-1 NHWC layer with
  one rate for both axes over a map of static size; None otherwise."""
  rate_h, rate_w = slim.utils.two_element_tuple(rate)
  if (rate_h != rate_w or slim.utils.two_element_tuple(stride) != (1, 1) or
      kwargs['padding'] != 'SAME' or
      kwargs['data_format'] not in (None, 'NHWC') or
      _static_size(inputs) is None):
    return None
  return rate_h


def _taps_apply(inputs, kernel_size, rate, stride, kwargs, depthwise):
  rate = _same_stride1_rate(inputs, rate, stride, kwargs)
  if rate is None or rate == 1:
    return False
  height, width = _static_size(inputs)
  return use_taps(height, width, kernel_size, rate, depthwise)


def _winograd_applies(inputs, kernel_size, rate, stride, num_outputs, kwargs):
  """A 3x3 layer (static batch too) where ``winograd.worth_it``."""
  rate = _same_stride1_rate(inputs, rate, stride, kwargs)
  if (rate is None or tuple(kernel_size) != (3, 3) or
      tf.dimension_value(inputs.shape[0]) is None):
    return False
  height, width = _static_size(inputs)
  return winograd_lib.worth_it(height, width,
                               tf.dimension_value(inputs.shape[3]),
                               num_outputs, rate)


def _finish(outputs, num_outputs, kwargs, scope_name):
  """Bias or normaliser, activation and output collection, as slim does."""
  if kwargs['normalizer_fn'] is not None:
    outputs = kwargs['normalizer_fn'](outputs,
                                      **(kwargs['normalizer_params'] or {}))
  elif kwargs['biases_initializer'] is not None:
    biases = slim.model_variable(
        'biases', shape=[num_outputs], dtype=outputs.dtype.base_dtype,
        initializer=kwargs['biases_initializer'],
        regularizer=kwargs['biases_regularizer'],
        collections=slim.utils.get_variable_collections(
            kwargs['variables_collections'], 'biases'),
        trainable=kwargs['trainable'])
    outputs = tf.nn.bias_add(outputs, biases)
  if kwargs['activation_fn'] is not None:
    outputs = kwargs['activation_fn'](outputs)
  return slim.utils.collect_named_outputs(kwargs['outputs_collections'],
                                          scope_name, outputs)


def _weights(name, shape, dtype, kwargs):
  return slim.model_variable(
      name, shape=shape, dtype=dtype,
      initializer=kwargs['weights_initializer'],
      regularizer=kwargs['weights_regularizer'],
      collections=slim.utils.get_variable_collections(
          kwargs['variables_collections'], 'weights'),
      trainable=kwargs['trainable'])


@slim.add_arg_scope
def relu(inputs, op_graph=FAST):
  """``tf.nn.relu``; the fast graph returns an input that is already the
  output of a ReLU or ReLU6 as it is (relu of it changes nothing)."""
  check_op_graph(op_graph)
  if op_graph == FAST and inputs.op.type in ('Relu', 'Relu6'):
    return inputs
  return tf.nn.relu(inputs)


def _foldable(merged):
  return batch_norm_lib.foldable_params(merged['normalizer_fn'],
                                        merged['normalizer_params'])


def _fold_batch_norm(weights, channels, merged, fold, depthwise=False):
  """Folds an inference ``batch_norm`` (the layer's normaliser, with the
  arguments ``fold`` from ``_foldable``) into ``weights``: ``[kh, kw, in,
  out]`` scaled per ``out``, or depthwise ``[kh, kw, channels, 1]`` scaled
  per channel.

  Returns:
    ``(weights, offset)``; offset None (weights unchanged) when ``fold`` is
    None.  On folding, ``merged`` is switched to no normaliser and no
    biases: the offset is the bias.
  """
  if fold is None:
    return weights, None
  factor, offset = batch_norm_lib.inference_scale_and_offset(channels, **fold)
  merged['normalizer_fn'] = None
  merged['biases_initializer'] = None
  if depthwise:
    factor = tf.reshape(factor, [channels, 1])
  return weights * factor, offset


def _own_path(inputs, merged):
  return (merged['data_format'] in (None, 'NHWC') and
          inputs.shape.ndims == 4 and
          tf.dimension_value(inputs.shape[3]) is not None)


@slim.add_arg_scope
def conv2d(inputs, num_outputs, kernel_size, stride=1, rate=1, scope=None,
           op_graph=FAST, winograd=False, **kwargs):
  """``slim.conv2d``.

  The fast graph computes the atrous case (stride 1, SAME) from the taps
  where ``use_taps`` says so, with ``winograd`` 3x3 layers by Winograd
  where ``winograd.worth_it`` says so, and at inference folds a following
  ``batch_norm`` into the weights, which lets oneDNN fuse the bias and the
  activation into the convolution (docs/performance.md).
  """
  check_op_graph(op_graph)
  merged = _slim_kwargs(slim.conv2d, kwargs)
  kh, kw = slim.utils.two_element_tuple(kernel_size)
  taps = _taps_apply(inputs, (kh, kw), rate, stride, merged, depthwise=False)
  fold = _foldable(merged) if op_graph == FAST else None
  # Unfolded (training) 1x1 layers run as a matrix product; folded ones
  # stay convolutions, which oneDNN fuses with the bias and activation.
  matmul = fold is None and _pointwise((kh, kw), stride)
  winograd = (winograd and not taps and _own_path(inputs, merged) and
              _winograd_applies(inputs, (kh, kw), rate, stride, num_outputs,
                                merged))
  if op_graph != FAST or not _own_path(inputs, merged) or not (
      taps or fold is not None or matmul or winograd):
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                       rate=rate, scope=scope, **kwargs)
  with tf.variable_scope(scope, 'Conv', [inputs],
                         reuse=merged['reuse']) as sc:
    channels = tf.dimension_value(inputs.shape[3])
    weights = _weights('weights', [kh, kw, channels, num_outputs],
                       inputs.dtype.base_dtype, merged)
    weights, offset = _fold_batch_norm(weights, num_outputs, merged, fold)
    if taps:
      outputs = dilated_conv_from_taps(inputs, weights, rate)
    elif winograd:
      outputs = winograd_lib.conv3x3(
          inputs, weights, slim.utils.two_element_tuple(rate)[0])
    elif matmul:
      outputs = pointwise_conv(inputs, weights)
    else:
      outputs = tf.nn.convolution(
          inputs, weights, merged['padding'],
          strides=slim.utils.two_element_tuple(stride),
          dilation_rate=slim.utils.two_element_tuple(rate))
    if offset is not None:
      outputs = tf.nn.bias_add(outputs, offset)
    return _finish(outputs, num_outputs, merged, sc.name)


@slim.add_arg_scope
def depthwise_conv2d(inputs, kernel_size, stride=1, rate=1, scope=None,
                     op_graph=FAST, **kwargs):
  """``slim.separable_conv2d(inputs, None, kernel_size, depth_multiplier=1)``.

  The fast graph computes the atrous case (stride 1, SAME) from the taps
  where ``use_taps`` says so, and at inference folds a following
  ``batch_norm`` into the weights: ``conv(x, w * scale) + offset`` instead
  of a separate BatchNorm op over the whole map (oneDNN fuses BatchNorm
  into regular convolutions itself, but not into depthwise ones;
  docs/performance.md).
  """
  check_op_graph(op_graph)
  merged = _slim_kwargs(slim.separable_conv2d, kwargs)
  kh, kw = slim.utils.two_element_tuple(kernel_size)
  if op_graph != FAST or not _own_path(inputs, merged):
    return slim.separable_conv2d(inputs, None, kernel_size,
                                 depth_multiplier=1, stride=stride, rate=rate,
                                 scope=scope, **kwargs)
  with tf.variable_scope(scope, 'SeparableConv2d', [inputs],
                         reuse=merged['reuse']) as sc:
    channels = tf.dimension_value(inputs.shape[3])
    weights = _weights('depthwise_weights', [kh, kw, channels, 1],
                       inputs.dtype.base_dtype, merged)
    weights, offset = _fold_batch_norm(weights, channels, merged,
                                       _foldable(merged), depthwise=True)
    sh, sw = slim.utils.two_element_tuple(stride)
    if _taps_apply(inputs, (kh, kw), rate, stride, merged, depthwise=True):
      outputs = dilated_conv_from_taps(inputs, weights, rate, depthwise=True)
    else:
      outputs = tf.nn.depthwise_conv2d(
          inputs, weights, [1, sh, sw, 1], merged['padding'],
          rate=slim.utils.two_element_tuple(rate))
    if offset is not None:
      outputs = tf.nn.bias_add(outputs, offset)
    return _finish(outputs, channels, merged, sc.name)
