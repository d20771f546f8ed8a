"""Dense prediction networks (DPN) on top of the backbone features.

``dpn_variant``:
  * ``aspp`` / ``li_aspp``: image pooling, a 1x1 branch, one separable
    atrous 3x3 branch per atrous rate (with an LI layer in front for
    ``li_aspp``), concatenated and projected to 256 channels.  Scope
    ``aspp`` or ``li_aspp`` (``li_aspp_name_scope_compatible`` forces
    ``aspp`` so that plain-ASPP checkpoints load).
  * ``dense_aspp`` / ``li_dense_aspp``: per atrous rate a 1x1 reduction to
    256 channels followed by a separable atrous conv growing the stack by 64
    channels; every layer sees the backbone features and all earlier
    outputs; the stack is projected to 256 channels.
  * ``ignore``: the backbone features go straight to the decoder/logits.

The LI variants apply ``relu`` to the backbone features first.  The scope
layout of the dense variants is the one of the published graphs
(``denseASPP/layer<i>/reduce_layer`` next to
``denseASPP_layer<i>/second_conv``; ``li_denseASPP/layer<i>/...`` for LI).
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import utils
from libs.core.batch_norm import batch_norm
from li_models import li_placement
from li_models import registry
from li_utils import conv_ops

DPN_DEPTH = 256
DENSE_ASPP_GROWTH = 64
BATCH_NORM_DECAY = 0.9997
BATCH_NORM_EPSILON = 1e-5
DROPOUT_KEEP_PROB = 0.9
IMAGE_POOLING_SCOPE = 'image_pooling'
CONCAT_PROJECTION_SCOPE = 'concat_projection'


def dpn_batch_norm_params(is_training, fine_tune_batch_norm):
  """BatchNorm arguments of the DPN and the decoder (and of their LI
  layers): batch statistics only when training with fine_tune_batch_norm."""
  return {'is_training': bool(is_training and fine_tune_batch_norm),
          'decay': BATCH_NORM_DECAY, 'epsilon': BATCH_NORM_EPSILON,
          'scale': True}


def dpn_arg_scope(weight_decay, is_training, fine_tune_batch_norm, reuse=None):
  """BN + relu convolutions with L2 weight decay, as in DeepLab's heads."""
  batch_norm_params = dpn_batch_norm_params(is_training, fine_tune_batch_norm)
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      activation_fn=tf.nn.relu, normalizer_fn=batch_norm,
                      padding='SAME', stride=1, reuse=reuse), \
      slim.arg_scope([batch_norm], **batch_norm_params) as sc:
    return sc


def aspp_scope_name(options):
  if options.dpn_variant == 'li_aspp' and not \
      options.li_aspp_name_scope_compatible:
    return 'li_aspp'
  return 'aspp'


def _image_pooling(features, options, crop_size):
  """Global average of the features, 1x1 conv, resized back."""
  if crop_size is not None:
    pool_crop = options.image_pooling_crop_size or crop_size
    pool_size = [utils.scale_dimension(d, 1.0 / options.output_stride)
                 for d in pool_crop]
    pooled = slim.avg_pool2d(features, pool_size,
                             stride=list(options.image_pooling_stride),
                             padding='VALID')
    out_size = [utils.scale_dimension(d, 1.0 / options.output_stride)
                for d in crop_size]
  else:
    pooled = tf.reduce_mean(features, axis=[1, 2], keepdims=True)
    shape = tf.shape(features)
    out_size = [shape[1], shape[2]]
  pooled = conv_layers.conv2d(pooled, DPN_DEPTH, 1, scope=IMAGE_POOLING_SCOPE)
  return utils.resize_bilinear(pooled, out_size, pooled.dtype)


def _separable_branch(features, depth, rate, options, li_branch,
                      bn_params, weight_decay, scope):
  if registry.dpn(options.dpn_variant).li:
    return conv_ops.split_separable_conv2d_with_lateral_inhibition(
        features, depth, rate=rate, weight_decay=weight_decay, scope=scope,
        **li_placement.dpn_li_kwargs(options, li_branch, bn_params,
                                     weight_decay))
  # Separable whatever aspp_with_separable_conv says, as the original's
  # branches (which never read it).
  return utils.split_separable_conv2d(features, depth, rate=rate,
                                      weight_decay=weight_decay, scope=scope)


def _aspp(features, options, crop_size, weight_decay, is_training,
          bn_params):
  with tf.variable_scope(aspp_scope_name(options)):
    branches = []
    if options.add_image_level_feature:
      branches.append(_image_pooling(features, options, crop_size))
    branches.append(conv_layers.conv2d(features, DPN_DEPTH, 1,
                                       scope='branch_0'))
    for i, rate in enumerate(options.atrous_rates or [], 1):
      branches.append(_separable_branch(
          features, DPN_DEPTH, rate, options, i - 1, bn_params,
          weight_decay, 'branch_%d' % i))
    net = tf.concat(branches, 3)
    net = conv_layers.conv2d(net, DPN_DEPTH, 1, scope=CONCAT_PROJECTION_SCOPE)
    return slim.dropout(net, keep_prob=DROPOUT_KEEP_PROB,
                        is_training=is_training,
                        scope=CONCAT_PROJECTION_SCOPE + '_dropout')


def _dense_aspp(features, options, weight_decay, is_training, bn_params):
  li = registry.dpn(options.dpn_variant).li
  root = 'li_denseASPP' if li else 'denseASPP'
  stack = [features]
  for i, rate in enumerate(options.atrous_rates or [], 1):
    net = tf.concat(stack, 3) if len(stack) > 1 else features
    with tf.variable_scope('%s/layer%d' % (root, i)):
      net = conv_layers.conv2d(net, DPN_DEPTH, 1, scope='reduce_layer')
      if li:
        net = _separable_branch(net, DENSE_ASPP_GROWTH, rate, options, i - 1,
                                bn_params, weight_decay, 'dilated_conv')
    if not li:
      with tf.variable_scope('%s_layer%d' % (root, i)):
        net = _separable_branch(net, DENSE_ASPP_GROWTH, rate, options, i - 1,
                                bn_params, weight_decay, 'second_conv')
    stack.append(net)
  with tf.variable_scope(root):
    net = conv_layers.conv2d(tf.concat(stack, 3), DPN_DEPTH, 1,
                             scope=CONCAT_PROJECTION_SCOPE)
    return slim.dropout(net, keep_prob=DROPOUT_KEEP_PROB,
                        is_training=is_training,
                        scope=CONCAT_PROJECTION_SCOPE + '_dropout')


def build_dpn(features, options, crop_size=None, weight_decay=0.0001,
              reuse=None, is_training=False, fine_tune_batch_norm=False):
  """Applies ``options.dpn_variant`` to the backbone ``features``.

  Without ``aspp_with_batch_norm`` no DPN is built (DeepLab-v2 style: the
  logits layer then applies one convolution per atrous rate).

  Args:
    crop_size: [h, w] of the network input, or None for global pooling
      from the dynamic feature shape.
  """
  variant = registry.dpn(options.dpn_variant)
  if variant.none or not options.aspp_with_batch_norm:
    return features
  bn_params = dpn_batch_norm_params(is_training, fine_tune_batch_norm)
  with slim.arg_scope(dpn_arg_scope(weight_decay, is_training,
                                    fine_tune_batch_norm, reuse)):
    if variant.li:
      features = tf.nn.relu(features)
    if not variant.dense:
      return _aspp(features, options, crop_size, weight_decay, is_training,
                   bn_params)
    if not options.atrous_rates:
      raise ValueError('dpn_variant %s needs atrous_rates'
                       % options.dpn_variant)
    return _dense_aspp(features, options, weight_decay, is_training,
                       bn_params)
