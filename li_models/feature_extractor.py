"""Backbone dispatch: normalised images -> backbone features and end points.

Every backbone variant of ``ModelOptions.model_variant`` is an entry of
``registry.BACKBONES`` (family, depth, root block, checkpoint scope, decoder
end point, normalisation, BatchNorm) and maps to one of the slim networks in
``libs/nets`` plus an LI placement (``li_placement``).
"""
import tf_slim as slim

from libs.core import input_normalization
from libs.core.batch_norm import batch_norm
from libs.nets import mobilenet_v2
from libs.nets import resnet_v1_beta
from li_models import li_placement
from li_models import model_options as mo
from li_models import registry
from li_utils import conv_ops

MOBILENET_FINAL_END_POINT = 'layer_18'


def backbone_scope(model_variant):
  """Variable scope of the backbone of ``model_variant``."""
  return registry.backbone(model_variant).checkpoint_scope


def decoder_end_point(model_variant):
  """Key in the backbone end points of the decoder's low-level feature."""
  return registry.backbone(model_variant).decoder_end_point


def backbone_batch_norm_params(model_variant, is_training):
  """BatchNorm arguments of the backbone of ``model_variant``."""
  backbone = registry.backbone(model_variant)
  return {'is_training': bool(is_training), 'decay': backbone.bn_decay,
          'epsilon': backbone.bn_epsilon, 'center': True, 'scale': True}


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
  backbone = registry.backbone(variant)
  bn_training = bool(is_training and fine_tune_batch_norm)
  inputs = input_normalization.normalize_images(images,
                                                backbone.normalisation)
  scope = backbone.checkpoint_scope
  bn_params = backbone_batch_norm_params(variant, bn_training)
  if backbone.family == 'mobilenet':
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
          block_fn=conv_ops.expanded_conv_with_lateral_inhibition,
          block_li_kwargs=li_placement.mobilenet_block_li_kwargs(
              options, bn_params),
          scope=scope, reuse=reuse)
  num_layers = backbone.depth
  blocks = resnet_v1_beta.make_blocks(num_layers, options.multi_grid)
  units_per_block = {b.scope: len(b.args) for b in blocks}
  li_units = li_placement.resnet_unit_li_kwargs(options, units_per_block,
                                                bn_params)
  with slim.arg_scope(resnet_v1_beta.resnet_arg_scope(
      weight_decay=weight_decay, batch_norm_decay=bn_params['decay'],
      batch_norm_epsilon=bn_params['epsilon'], batch_norm_scale=True)):
    with slim.arg_scope([batch_norm], is_training=bn_training):
      return resnet_v1_beta.resnet_v1(
          inputs, num_layers, conv_ops.li_resnet_bottleneck,
          beta=backbone.beta_root,
          multi_grid=options.multi_grid, output_stride=options.output_stride,
          li_units=li_units, scope=scope, reuse=reuse)
