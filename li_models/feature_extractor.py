"""Backbone dispatch: normalised images -> backbone features and end points.

Every backbone variant of ``ModelOptions.model_variant`` maps to one of the
slim networks in ``libs/nets`` plus an LI placement (``li_placement``).  The
outer variable scope of a variant is its checkpoint scope
(``backbone_scope``): ``MobilenetV2`` or ``resnet_v1_{50,101}``.
"""
import tf_slim as slim

from libs.core import input_normalization
from libs.core.batch_norm import batch_norm
from libs.nets import mobilenet_v2
from libs.nets import resnet_v1_beta
from li_models import li_placement
from li_models import model_options as mo

_BACKBONE_SCOPES = {
    'mobilenet_v2': 'MobilenetV2',
    'li_mobilenet_v2': 'MobilenetV2',
    'resnet_v1_50': 'resnet_v1_50',
    'resnet_v1_50_beta': 'resnet_v1_50',
    'li_resnet_v1_50_beta': 'resnet_v1_50',
    'resnet_v1_101': 'resnet_v1_101',
    'resnet_v1_101_beta': 'resnet_v1_101',
    'li_resnet_v1_101_beta': 'resnet_v1_101',
}

# Low-level feature the decoder projects (stride 4), relative to the scope.
_DECODER_END_POINTS = {
    'mobilenet': 'layer_4/depthwise_output',
    'resnet': 'block1/unit_2/bottleneck_v1/conv3',
}

MOBILENET_FINAL_END_POINT = 'layer_18'
# BatchNorm of the backbones (LI layers inside them use the same):
# MobileNetV2 keeps slim's mobilenet_v2 training-scope defaults, the ResNets
# use DeepLab's ResNet values.
MOBILENET_BN_DECAY = 0.997
MOBILENET_BN_EPSILON = 0.001
RESNET_BN_DECAY = 0.95
RESNET_BN_EPSILON = 1e-5


def backbone_scope(model_variant):
  """Variable scope of the backbone of ``model_variant``."""
  mo.check_choice('model_variant', model_variant, mo.MODEL_VARIANTS)
  return _BACKBONE_SCOPES[model_variant]


def decoder_end_point(model_variant):
  """Key in the backbone end points of the decoder's low-level feature."""
  scope = backbone_scope(model_variant)
  if model_variant in mo.MOBILENET_VARIANTS:
    return _DECODER_END_POINTS['mobilenet']
  return '%s/%s' % (scope, _DECODER_END_POINTS['resnet'])


def backbone_batch_norm_params(model_variant, is_training):
  """BatchNorm arguments of the backbone of ``model_variant``."""
  mo.check_choice('model_variant', model_variant, mo.MODEL_VARIANTS)
  if model_variant in mo.MOBILENET_VARIANTS:
    decay, epsilon = MOBILENET_BN_DECAY, MOBILENET_BN_EPSILON
  else:
    decay, epsilon = RESNET_BN_DECAY, RESNET_BN_EPSILON
  return {'is_training': bool(is_training), 'decay': decay,
          'epsilon': epsilon, 'center': True, 'scale': True}


def _resnet_depth(model_variant):
  return 101 if '101' in model_variant else 50


def extract_backbone_features(images, options, weight_decay=0.0001,
                              reuse=None, is_training=False,
                              fine_tune_batch_norm=False):
  """Normalises ``images`` (0..255) and runs the backbone.

  Batch norm uses batch statistics only when ``is_training`` and
  ``fine_tune_batch_norm`` are both set.

  Returns:
    (features at ``options.output_stride``, end points dict).
  """
  mo.validate_model_options(options)
  variant = options.model_variant
  bn_training = bool(is_training and fine_tune_batch_norm)
  inputs = input_normalization.normalize_images(images, variant)
  scope = backbone_scope(variant)
  bn_params = backbone_batch_norm_params(variant, bn_training)
  if variant in mo.MOBILENET_VARIANTS:
    multiplier = float(options.depth_multiplier)
    divisible_by = options.divisible_by
    if divisible_by is None:
      divisible_by = 8 if multiplier == 1.0 else 1
    with slim.arg_scope(mobilenet_v2.training_scope(
        is_training=bn_training, weight_decay=weight_decay,
        bn_decay=bn_params['decay'], bn_epsilon=bn_params['epsilon'])):
      return mobilenet_v2.mobilenet_base(
          inputs, depth_multiplier=multiplier,
          min_depth=8 if multiplier == 1.0 else 1,
          divisible_by=divisible_by,
          final_endpoint=MOBILENET_FINAL_END_POINT,
          output_stride=options.output_stride,
          block_li_kwargs=li_placement.mobilenet_block_li_kwargs(
              options, bn_params),
          scope=scope, reuse=reuse)
  num_layers = _resnet_depth(variant)
  blocks = resnet_v1_beta.make_blocks(num_layers, options.multi_grid)
  units_per_block = {b.scope: len(b.args) for b in blocks}
  li_units = li_placement.resnet_unit_li_kwargs(options, units_per_block,
                                                bn_params)
  with slim.arg_scope(resnet_v1_beta.resnet_arg_scope(
      weight_decay=weight_decay, batch_norm_decay=bn_params['decay'],
      batch_norm_epsilon=bn_params['epsilon'], batch_norm_scale=True)):
    with slim.arg_scope([batch_norm], is_training=bn_training):
      return resnet_v1_beta.resnet_v1(
          inputs, num_layers, beta=variant.endswith('_beta'),
          multi_grid=options.multi_grid, output_stride=options.output_stride,
          li_units=li_units, scope=scope, reuse=reuse)
