"""Lateral-inhibition (LI) convolutions and the blocks built on them.

An LI layer is a depthwise convolution whose ``z x z`` kernel is generated
from a single trainable weight ``w[c]`` per input channel::

    k[i, j, c] = g[i, j] * (1        if (i, j) is the centre
                            -w[c]    otherwise)
    g[i, j]    = exp(-d(i, j)^2 / (2 * sigma^2))

where ``d`` is the Euclidean distance of tap ``(i, j)`` from the centre.  The
centre passes the input through unchanged (``g = 1`` there) and every
neighbour subtracts a Gaussian-weighted share of its own activation, which
sharpens responses at region boundaries.  ``w`` is kept in
``li_weight_clip_values`` by a variable constraint, which every TF1 optimiser
applies after its update.

Variable names are part of the published checkpoints' contract:
``<scope>/li_weights`` with shape ``[1, 1, C, 1]``, an optional
``<scope>/BatchNorm``, and, for the blocks below, the scope layout of the
original networks (``.../lateral_inhibition``, ``.../depthwise``,
``.../pointwise``, ``.../expand``, ``.../project``, ``bottleneck_v1/conv1..3``).
"""
import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import utils

LI_SCOPE = 'lateral_inhibition'
LI_WEIGHTS_NAME = 'li_weights'

_DATA_FORMATS = ('NHWC', 'NCHW')
_EXPANDED_CONV_LI_LOCATIONS = ('after_expansion', 'after_input')
_BOTTLENECK_LI_LOCATIONS = ('after_conv1', 'before_conv1')


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
    li_weights: float tensor ``[1, 1, C, 1]``.
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
  dtype = li_weights.dtype.base_dtype
  # Centre tap: decay(centre) * 1 = 1; every other tap: -decay * w.
  centre_part = tf.constant((decay * centre_mask)[:, :, None, None], dtype)
  neighbour_part = tf.constant((decay * (1.0 - centre_mask))[:, :, None, None],
                               dtype)
  kernel = centre_part - neighbour_part * li_weights
  if depth_multiplier > 1:
    kernel = tf.tile(kernel, [1, 1, 1, depth_multiplier])
  return kernel


def _clip_constraint(li_weight_clip_values):
  if li_weight_clip_values is None:
    return None
  try:
    clip_min, clip_max = [float(v) for v in li_weight_clip_values]
  except (TypeError, ValueError):
    raise ValueError('li_weight_clip_values must be a pair (min, max), got %r'
                     % (li_weight_clip_values,))
  if clip_min > clip_max:
    raise ValueError('li_weight_clip_values must satisfy min <= max, got %r'
                     % (li_weight_clip_values,))
  return lambda w: tf.clip_by_value(w, clip_min, clip_max)


@slim.add_arg_scope
def lateral_inhibition_layer(inputs,
                             scope=LI_SCOPE,
                             li_zone=3,
                             li_activation_fn=None,
                             li_decay_std=1.0,
                             li_weight_initilizer=tf.random_uniform_initializer,
                             li_weight_initilizer_params=None,
                             li_weight_clip_values=(0.0, 1.0),
                             li_normalizer_fn=None,
                             li_normalizer_params=None,
                             li_weight_regularizer=None,
                             li_rate=1,
                             reuse=tf.AUTO_REUSE,
                             variables_collections=None,
                             depth_multiplier=1,
                             stride=1,
                             padding='SAME',
                             data_format='NHWC',
                             trainable=True,
                             return_li_kernel_weights=False):
  """Applies lateral inhibition to a 4-D feature map.

  Args:
    inputs: 4-D float tensor with a known channel dimension.
    scope: variable scope; the weight is ``<scope>/li_weights``.
    li_zone: odd size of the inhibition window.
    li_activation_fn: activation applied last (e.g. ``tf.nn.relu``) or None.
    li_decay_std: sigma of the Gaussian distance fall-off.
    li_weight_initilizer: initializer class (spelling kept from the original
      API), instantiated with ``li_weight_initilizer_params``.
    li_weight_initilizer_params: kwargs of the initializer, e.g.
      ``{'minval': 0.0, 'maxval': 0.15}``.
    li_weight_clip_values: ``(min, max)`` the weights are clipped to after
      every optimiser update; None disables the constraint.
    li_normalizer_fn: e.g. ``libs.core.batch_norm.batch_norm``, created as
      ``<scope>/BatchNorm``.
    li_normalizer_params: kwargs of the normaliser.
    li_weight_regularizer: regulariser of the weights, e.g. an L2 function.
    li_rate: dilation of the LI kernel.
    reuse: variable-scope reuse mode.
    variables_collections: extra collections for ``li_weights``.
    depth_multiplier: output channels per input channel.
    stride: spatial stride of the depthwise convolution.
    padding: 'SAME' or 'VALID'.
    data_format: 'NHWC' or 'NCHW'.
    trainable: whether ``li_weights`` is trainable.
    return_li_kernel_weights: also return the generated kernel.

  Returns:
    The inhibited tensor, or ``(outputs, kernel)`` with
    ``return_li_kernel_weights``.

  Raises:
    ValueError: on an even or non-positive zone, a non-4-D input, an unknown
      channel count, an unknown ``data_format`` or ``padding``, or a bad clip
      range.
  """
  if data_format not in _DATA_FORMATS:
    raise ValueError('lateral_inhibition_layer: data_format must be one of %s, '
                     'got %r' % (', '.join(_DATA_FORMATS), data_format))
  if padding not in ('SAME', 'VALID'):
    raise ValueError("lateral_inhibition_layer: padding must be 'SAME' or "
                     "'VALID', got %r" % (padding,))
  check_zone(li_zone)
  if int(li_rate) < 1 or int(stride) < 1:
    raise ValueError('lateral_inhibition_layer: li_rate and stride must be >= 1,'
                     ' got li_rate=%r stride=%r' % (li_rate, stride))
  if int(li_rate) > 1 and int(stride) > 1:
    raise ValueError('lateral_inhibition_layer: li_rate > 1 needs stride 1, '
                     'got li_rate=%r stride=%r' % (li_rate, stride))
  inputs = tf.convert_to_tensor(inputs)
  if inputs.shape.ndims != 4:
    raise ValueError('lateral_inhibition_layer expects a 4-D input '
                     '(batch, height, width, channels for NHWC), got shape %s'
                     % (inputs.shape,))
  channel_axis = 3 if data_format == 'NHWC' else 1
  num_channels = tf.dimension_value(inputs.shape[channel_axis])
  if num_channels is None:
    raise ValueError('lateral_inhibition_layer needs a known channel dimension '
                     '(axis %d), got shape %s' % (channel_axis, inputs.shape))
  constraint = _clip_constraint(li_weight_clip_values)
  initializer = li_weight_initilizer(**(li_weight_initilizer_params or {}))

  with tf.variable_scope(scope, reuse=reuse):
    collections = [tf.GraphKeys.GLOBAL_VARIABLES]
    if variables_collections:
      if isinstance(variables_collections, str):
        variables_collections = [variables_collections]
      collections.extend(variables_collections)
    li_weights = tf.get_variable(
        LI_WEIGHTS_NAME, shape=[1, 1, num_channels, 1], dtype=inputs.dtype,
        initializer=initializer, regularizer=li_weight_regularizer,
        trainable=trainable, collections=collections, constraint=constraint)
    # Checkpoint initialisation restores tf.model_variables(); keep the LI
    # weights among them, exactly once.
    if li_weights not in tf.get_collection(tf.GraphKeys.MODEL_VARIABLES):
      tf.add_to_collection(tf.GraphKeys.MODEL_VARIABLES, li_weights)

    kernel = create_lateral_inhibition_kernel(
        li_weights, li_zone, li_decay_std, depth_multiplier)
    net = inputs
    if data_format == 'NCHW':
      # Depthwise NCHW kernels exist on GPU only; transposing keeps one path.
      net = tf.transpose(net, [0, 2, 3, 1])
    net = tf.nn.depthwise_conv2d(net, kernel, strides=[1, stride, stride, 1],
                                 padding=padding, rate=[li_rate, li_rate])
    if data_format == 'NCHW':
      net = tf.transpose(net, [0, 3, 1, 2])
    if li_normalizer_fn is not None:
      normalizer_params = dict(li_normalizer_params or {})
      normalizer_params.setdefault('scope', 'BatchNorm')
      if data_format == 'NCHW':
        normalizer_params.setdefault('data_format', 'NCHW')
      net = li_normalizer_fn(net, **normalizer_params)
    if li_activation_fn is not None:
      net = li_activation_fn(net)
  if return_li_kernel_weights:
    return net, kernel
  return net


def _li_kwargs(li_zone, li_decay_std, li_rate, li_activation_fn,
               li_weight_initilizer_params, li_weight_clip_values,
               li_normalizer_fn, li_normalizer_params, li_weight_regularizer):
  return dict(li_zone=li_zone, li_decay_std=li_decay_std, li_rate=li_rate,
              li_activation_fn=li_activation_fn,
              li_weight_initilizer_params=li_weight_initilizer_params,
              li_weight_clip_values=li_weight_clip_values,
              li_normalizer_fn=li_normalizer_fn,
              li_normalizer_params=li_normalizer_params,
              li_weight_regularizer=li_weight_regularizer)


def split_separable_conv2d_with_lateral_inhibition(
    inputs, filters, kernel_size=3, rate=1, weight_decay=0.00004,
    depthwise_weights_initializer_stddev=0.33,
    pointwise_weights_initializer_stddev=0.06, scope=None, li_zone=3,
    li_decay_std=1.0, li_rate=1, li_activation_fn=None,
    li_weight_initilizer_params=None, li_weight_clip_values=(0.0, 1.0),
    li_normalizer_fn=None, li_normalizer_params=None,
    li_weight_regularizer=None):
  """LI-ASPP branch: relu -> LI -> depthwise (atrous) -> pointwise 1x1.

  Normaliser and activation of the depthwise/pointwise convolutions come from
  the caller's ``slim.arg_scope``; only the pointwise weights are L2
  regularised.  Variables: ``<scope>/lateral_inhibition/li_weights``,
  ``<scope>/depthwise/depthwise_weights``, ``<scope>/pointwise/weights``.
  """
  with tf.variable_scope(scope, default_name='li_separable_conv'):
    net = conv_layers.relu(inputs)
    net = lateral_inhibition_layer(
        net, scope=LI_SCOPE,
        **_li_kwargs(li_zone, li_decay_std, li_rate, li_activation_fn,
                     li_weight_initilizer_params, li_weight_clip_values,
                     li_normalizer_fn, li_normalizer_params,
                     li_weight_regularizer))
    return utils.depthwise_then_pointwise(
        net, filters, kernel_size, rate, weight_decay,
        depthwise_weights_initializer_stddev,
        pointwise_weights_initializer_stddev)


def expand_input_by_factor(factor, divisible_by=8):
  """Expansion size of an inverted residual as a function of its input depth."""
  return lambda num_inputs: utils.round_depth(num_inputs * factor,
                                             divisible_by)


@slim.add_arg_scope
def expanded_conv_with_lateral_inhibition(
    input_tensor, num_outputs, expansion_size=expand_input_by_factor(6),
    stride=1, rate=1, kernel_size=(3, 3), residual=True, normalizer_fn=None,
    project_activation_fn=tf.identity, padding='SAME', endpoints=None,
    scope=None, li_location='after_expansion', li_zone=3, li_decay_std=1.0,
    li_rate=1, li_activation_fn=None, li_weight_initilizer_params=None,
    li_weight_clip_values=(0.0, 1.0), li_normalizer_fn=None,
    li_normalizer_params=None, li_weight_regularizer=None):
  """MobileNetV2 inverted residual with an optional LI layer.

  expand 1x1 (only when the expansion is wider than the input) -> depthwise
  -> project 1x1 (linear), plus the input when ``stride == 1``, ``residual``
  and the depths match.  Activations of the expand/depthwise convolutions
  come from the caller's arg scope (relu6 in MobileNetV2).

  ``li_location``: 'after_expansion' puts LI on ``relu(expand output)`` (on
  ``relu(input)`` when the block has no expansion), 'after_input' on
  ``relu(input)`` before the expansion, None builds the plain block.  The LI
  scope is ``<scope>/lateral_inhibition`` and its output is recorded in
  ``endpoints['lateral_inhibition_output']``; the other endpoints are
  'expansion_output', 'depthwise_output' and 'projection_output'.

  Args:
    expansion_size: int, or callable mapping the input depth to the inner
      depth (see ``expand_input_by_factor``).
    endpoints: optional dict filled with the block's intermediate tensors.
  """
  if li_location not in _EXPANDED_CONV_LI_LOCATIONS + (None,):
    raise ValueError('li_location_for_expanded_conv must be one of %s, got %r'
                     % (', '.join(_EXPANDED_CONV_LI_LOCATIONS), li_location))
  li_kwargs = _li_kwargs(li_zone, li_decay_std, li_rate, li_activation_fn,
                         li_weight_initilizer_params, li_weight_clip_values,
                         li_normalizer_fn, li_normalizer_params,
                         li_weight_regularizer)
  endpoints = endpoints if endpoints is not None else {}
  with tf.variable_scope(scope, default_name='expanded_conv'):
    input_depth = tf.dimension_value(input_tensor.shape[3])
    net = input_tensor
    if li_location == 'after_input':
      net = lateral_inhibition_layer(conv_layers.relu(net), scope=LI_SCOPE,
                                     **li_kwargs)
      endpoints['lateral_inhibition_output'] = net
    inner_size = (expansion_size(input_depth) if callable(expansion_size)
                  else int(expansion_size))
    if inner_size > tf.dimension_value(net.shape[3]):
      net = conv_layers.conv2d(net, inner_size, 1,
                               normalizer_fn=normalizer_fn, scope='expand')
      endpoints['expansion_output'] = net
    if li_location == 'after_expansion':
      net = lateral_inhibition_layer(conv_layers.relu(net), scope=LI_SCOPE,
                                     **li_kwargs)
      endpoints['lateral_inhibition_output'] = net
    net = conv_layers.depthwise_conv2d(net, kernel_size, stride=stride,
                                       rate=rate, padding=padding,
                                       normalizer_fn=normalizer_fn,
                                       scope='depthwise')
    endpoints['depthwise_output'] = net
    net = conv_layers.conv2d(net, num_outputs, 1,
                             normalizer_fn=normalizer_fn,
                             activation_fn=project_activation_fn,
                             scope='project')
    endpoints['projection_output'] = net
    if residual and stride == 1 and input_depth == num_outputs:
      net = net + input_tensor
    return tf.identity(net, name='output')


@slim.add_arg_scope
def li_resnet_bottleneck(inputs, depth, depth_bottleneck, stride, unit_rate=1,
                         rate=1, outputs_collections=None, scope=None,
                         li_location='after_conv1', li_zone=3,
                         li_decay_std=1.0, li_rate=1, li_activation_fn=None,
                         li_weight_initilizer_params=None,
                         li_weight_clip_values=(0.0, 1.0),
                         li_normalizer_fn=None, li_normalizer_params=None,
                         li_weight_regularizer=None):
  """ResNet-v1 bottleneck (DeepLab's, with ``unit_rate``) carrying LI.

  Layout under ``<scope>/bottleneck_v1``: ``shortcut`` (1x1 projection when
  the depth changes, else subsampling of the input), ``conv1`` 1x1,
  ``lateral_inhibition`` (on ``relu(conv1 output)`` for 'after_conv1', on
  ``relu(inputs)`` for 'before_conv1'), ``conv2`` 3x3 at ``rate * unit_rate``,
  ``conv3`` 1x1 linear, then ``relu(shortcut + residual)``.  Normaliser and
  activations come from the caller's resnet arg scope.  ``li_location=None``
  builds the plain bottleneck.
  """
  if li_location not in _BOTTLENECK_LI_LOCATIONS + (None,):
    raise ValueError('li_resnet_bottleneck_pos must be one of %s, got %r'
                     % (', '.join(_BOTTLENECK_LI_LOCATIONS), li_location))
  from tf_slim.nets import resnet_utils  # pylint: disable=g-import-not-at-top
  li_kwargs = _li_kwargs(li_zone, li_decay_std, li_rate, li_activation_fn,
                         li_weight_initilizer_params, li_weight_clip_values,
                         li_normalizer_fn, li_normalizer_params,
                         li_weight_regularizer)
  with tf.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.get_shape(), min_rank=4)
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = conv_layers.conv2d(inputs, depth, [1, 1], stride=stride,
                                    activation_fn=None, scope='shortcut')
    net = inputs
    if li_location == 'before_conv1':
      net = lateral_inhibition_layer(conv_layers.relu(net), scope=LI_SCOPE,
                                     **li_kwargs)
    net = conv_layers.conv2d(net, depth_bottleneck, [1, 1], stride=1,
                             scope='conv1')
    if li_location == 'after_conv1':
      net = lateral_inhibition_layer(conv_layers.relu(net), scope=LI_SCOPE,
                                     **li_kwargs)
    if stride == 1:
      net = conv_layers.conv2d(net, depth_bottleneck, 3,
                               rate=rate * unit_rate, padding='SAME',
                               scope='conv2')
    else:
      net = resnet_utils.conv2d_same(net, depth_bottleneck, 3, stride,
                                     rate=rate * unit_rate, scope='conv2')
    net = conv_layers.conv2d(net, depth, [1, 1], stride=1,
                             activation_fn=None, scope='conv3')
    output = tf.nn.relu(shortcut + net)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)
