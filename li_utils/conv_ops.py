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
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import utils
# The kernel and the argument checks, shared with the Keras layer
# (li_utils/layers.py); re-exported here, where callers have found them.
from li_utils.li_kernel import (  # noqa: F401  (re-exported)
    LI_WEIGHTS_NAME, apply_kernel, check_layer_arguments, check_zone,
    clip_range, create_lateral_inhibition_kernel, gaussian_decay,
    input_channels)

LI_SCOPE = 'lateral_inhibition'

_EXPANDED_CONV_LI_LOCATIONS = ('after_expansion', 'after_input')
_BOTTLENECK_LI_LOCATIONS = ('after_conv1', 'before_conv1')


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
  check_layer_arguments('lateral_inhibition_layer', li_zone, li_rate, stride,
                        padding, data_format)
  inputs = tf.convert_to_tensor(inputs)
  num_channels = input_channels('lateral_inhibition_layer', inputs.shape,
                                data_format)
  clip = clip_range(li_weight_clip_values)
  constraint = (None if clip is None else
                lambda w: tf.clip_by_value(w, clip[0], clip[1]))
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
    net = apply_kernel(inputs, kernel, stride, padding, li_rate, data_format)
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


# MobileNetV2's expansion: six times the input depth.
_DEFAULT_EXPANSION = expand_input_by_factor(6)


@slim.add_arg_scope
def expanded_conv_with_lateral_inhibition(
    input_tensor, num_outputs, expansion_size=_DEFAULT_EXPANSION,
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
  from tf_slim.nets import resnet_utils
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
