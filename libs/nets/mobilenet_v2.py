"""MobileNetV2 feature extractor in tf_slim style.

The network is a list of layer specifications (``V2_CONV_DEFS``): a strided
3x3 convolution, seventeen inverted-residual blocks and a final 1x1
convolution.  ``mobilenet_base`` walks the list, applies the depth
multiplier, turns strides into atrous rates once ``output_stride`` has been
reached and records end points named ``layer_<i>`` (1-based) plus
``layer_<i>/<block end point>`` (e.g. ``layer_4/depthwise_output``).

Variable names match the ImageNet checkpoint ``mobilenet_v2_1.0_224.ckpt``:
``<scope>/Conv``, ``<scope>/expanded_conv``, ``<scope>/expanded_conv_<k>``,
``<scope>/Conv_1``.

Any block can carry a lateral-inhibition layer: ``block_li_kwargs`` maps the
block index (0 for ``expanded_conv``, k for ``expanded_conv_k``) to the
keyword arguments of the inverted-residual ``block_fn`` the caller passes
(``li_models`` passes the LI block of ``li_utils.conv_ops``, so this module
imports only TensorFlow, tf-slim and ``libs.core``).
"""
import collections

import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core.batch_norm import batch_norm
from libs.core.utils import round_depth

CONV = 'conv'
INVERTED_RESIDUAL = 'inverted_residual'

# kind: CONV or INVERTED_RESIDUAL; expansion: expansion factor of the block's
# inner depth over its input depth (None for plain convolutions).
LayerSpec = collections.namedtuple(
    'LayerSpec', ['kind', 'num_outputs', 'stride', 'kernel_size', 'expansion'])


def _ir(num_outputs, stride=1, expansion=6):
  return LayerSpec(INVERTED_RESIDUAL, num_outputs, stride, 3, expansion)


V2_CONV_DEFS = (
    LayerSpec(CONV, 32, 2, 3, None),
    _ir(16, expansion=1),
    _ir(24, 2), _ir(24),
    _ir(32, 2), _ir(32), _ir(32),
    _ir(64, 2), _ir(64), _ir(64), _ir(64),
    _ir(96), _ir(96), _ir(96),
    _ir(160, 2), _ir(160), _ir(160),
    _ir(320),
    LayerSpec(CONV, 1280, 1, 1, None),
)


def _expand_input_by_factor(factor, divisible_by):
  """Inner depth of an inverted residual as a function of its input depth."""
  return lambda num_inputs: round_depth(num_inputs * factor, divisible_by)


def training_scope(is_training=True, weight_decay=0.00004, stddev=0.09,
                   bn_decay=0.997, bn_epsilon=0.001):
  """arg_scope of MobileNetV2: BN + relu6 everywhere, L2 on full convs only.

  Depthwise kernels are not regularised; ``is_training`` only switches batch
  norm between batch statistics and moving averages.
  """
  batch_norm_params = {'is_training': is_training, 'decay': bn_decay,
                       'epsilon': bn_epsilon, 'center': True, 'scale': True}
  initializer = tf.truncated_normal_initializer(stddev=stddev)
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_initializer=initializer,
                      normalizer_fn=batch_norm,
                      activation_fn=tf.nn.relu6, padding='SAME'), \
      slim.arg_scope([batch_norm], **batch_norm_params), \
      slim.arg_scope([slim.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([slim.separable_conv2d], weights_regularizer=None) as sc:
    return sc


def _layer_scopes(conv_defs):
  """Scope names in the order of ``conv_defs`` (Conv, expanded_conv, ...)."""
  counts = collections.Counter()
  scopes = []
  for spec in conv_defs:
    base = 'Conv' if spec.kind == CONV else 'expanded_conv'
    index = counts[base]
    counts[base] += 1
    scopes.append(base if index == 0 else '%s_%d' % (base, index))
  return scopes


def mobilenet_base(inputs, conv_defs=V2_CONV_DEFS, depth_multiplier=1.0,
                   min_depth=8, divisible_by=8, final_endpoint=None,
                   output_stride=None, block_fn=None, block_li_kwargs=None,
                   scope='MobilenetV2', reuse=None):
  """Builds MobileNetV2 up to ``final_endpoint``.

  Must be called inside ``training_scope`` (or an equivalent arg_scope).

  Args:
    inputs: [batch, height, width, 3] normalised images.
    conv_defs: sequence of ``LayerSpec``.
    depth_multiplier: multiplier of every layer's output depth.
    min_depth: smallest output depth after the multiplier.
    divisible_by: output depths are rounded to multiples of this.
    final_endpoint: last end point to build, e.g. 'layer_18'; None builds
      every layer.
    output_stride: if set, stride at which the features stop shrinking;
      later strides become atrous rates.  Must be a product of the layer
      strides.
    block_fn: the inverted-residual block, called as ``block_fn(net,
      num_outputs, expansion_size=..., stride=..., rate=..., kernel_size=...,
      normalizer_fn=..., endpoints=..., scope=..., **li_kwargs)``.
    block_li_kwargs: {block index: kwargs} of blocks carrying LI.
    scope: outer variable scope.
    reuse: variable reuse of the outer scope.

  Returns:
    (features, end_points).

  Raises:
    ValueError: bad depth_multiplier, output_stride or final_endpoint.
  """
  if block_fn is None:
    raise ValueError('mobilenet_base needs block_fn (the inverted-residual '
                     'block, e.g. li_utils.conv_ops.'
                     'expanded_conv_with_lateral_inhibition)')
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier must be > 0, got %r' % depth_multiplier)
  if output_stride is not None and output_stride < 1:
    raise ValueError('output_stride must be >= 1, got %r' % output_stride)
  num_layers = len(conv_defs)
  valid_endpoints = ['layer_%d' % (i + 1) for i in range(num_layers)]
  if final_endpoint is not None and final_endpoint not in valid_endpoints:
    raise ValueError('final_endpoint %r is not one of layer_1..layer_%d'
                     % (final_endpoint, num_layers))
  num_built = (num_layers if final_endpoint is None
               else valid_endpoints.index(final_endpoint) + 1)
  reachable = [1]
  for spec in conv_defs[:num_built]:
    reachable.append(reachable[-1] * spec.stride)
  if output_stride is not None and output_stride not in reachable:
    raise ValueError('output_stride %d cannot be reached by MobileNetV2 up '
                     'to layer_%d (reachable: %s)' % (
                         output_stride, num_built,
                         ', '.join(str(s) for s in sorted(set(reachable)))))
  block_li_kwargs = dict(block_li_kwargs or {})
  scopes = _layer_scopes(conv_defs)
  end_points = {}
  current_stride = 1
  rate = 1
  net = inputs
  with tf.variable_scope(scope, 'MobilenetV2', [inputs], reuse=reuse):
    block_index = 0
    for i, spec in enumerate(conv_defs):
      if output_stride is not None and current_stride == output_stride:
        layer_stride, layer_rate = 1, rate
        rate *= spec.stride
      else:
        layer_stride, layer_rate = spec.stride, 1
        current_stride *= spec.stride
      num_outputs = round_depth(spec.num_outputs * depth_multiplier,
                                divisible_by, min_depth)
      end_point = 'layer_%d' % (i + 1)
      if spec.kind == CONV:
        net = conv_layers.conv2d(net, num_outputs, spec.kernel_size,
                                 stride=layer_stride, rate=layer_rate,
                                 scope=scopes[i])
      else:
        expansion_divisor = 1 if spec.expansion == 1 else 8
        block_end_points = {}
        li_kwargs = dict(block_li_kwargs.pop(block_index, {}))
        li_kwargs.setdefault('li_location', None)
        net = block_fn(
            net, num_outputs,
            expansion_size=_expand_input_by_factor(
                spec.expansion, expansion_divisor),
            stride=layer_stride, rate=layer_rate,
            kernel_size=(spec.kernel_size, spec.kernel_size),
            normalizer_fn=batch_norm, endpoints=block_end_points,
            scope=scopes[i], **li_kwargs)
        for key, value in block_end_points.items():
          end_points['%s/%s' % (end_point, key)] = value
        block_index += 1
      end_points[end_point] = net
      if end_point == final_endpoint:
        break
  if block_li_kwargs:
    raise ValueError('LI requested for MobileNetV2 blocks %s that were not '
                     'built (final end point %s)'
                     % (sorted(block_li_kwargs), final_endpoint))
  return net, end_points
