"""Where lateral-inhibition (LI) layers go and with which parameters.

The placement tables (``registry.MNV2_LI_BLOCKS``: MobileNetV2 blocks per
``li_backbone_option_mnv2``; ``registry.RESNET_LI_UNITS``: ResNet units per
``li_resnet_option``) were read off the published LI-Convs graphs.  With
``li_resnet_block_pos = 'last_two'`` the ``'last'`` entries of block1..block3
cover the last two units; block4 is unaffected (as in the reference graphs).
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core.batch_norm import batch_norm
from li_models import model_options as mo
from li_models import registry

# L2 strength of backbone LI weights (li_with_weight_regularizer); the DPN
# uses the model weight decay.
BACKBONE_LI_WEIGHT_DECAY = 0.0001
# BatchNorm decay of the LI layers in a ResNet (li_with_batch_norm): the
# original passes it explicitly, over the ResNet's own 0.95.
RESNET_LI_BATCH_NORM_DECAY = 0.997

_ACTIVATIONS = {'relu': tf.nn.relu, 'relu6': tf.nn.relu6, 'none': None,
                None: None}


def _li_common_kwargs(options, batch_norm_params, weight_decay):
  """Arguments shared by every LI layer; with ``li_with_batch_norm`` its
  BatchNorm takes ``batch_norm_params``, those of the network around it."""
  activation = _ACTIVATIONS[options.li_activation]
  normalizer_fn = normalizer_params = None
  if options.li_with_batch_norm:
    normalizer_fn = batch_norm
    normalizer_params = dict(batch_norm_params)
  regularizer = (slim.l2_regularizer(weight_decay)
                 if options.li_with_weight_regularizer else None)
  return {'li_activation_fn': activation,
          'li_weight_clip_values': tuple(options.li_weight_clip_values),
          'li_normalizer_fn': normalizer_fn,
          'li_normalizer_params': normalizer_params,
          'li_weight_regularizer': regularizer}


def _init_params(min_max):
  low, high = [float(v) for v in min_max]
  return {'minval': low, 'maxval': high}


def backbone_li_kwargs(options, batch_norm_params):
  """LI keyword arguments shared by every LI layer of the backbone.

  Args:
    batch_norm_params: the backbone's BatchNorm arguments (is_training,
      decay, epsilon, ...), used by the LI layers' own BatchNorm.
  """
  kwargs = _li_common_kwargs(options, batch_norm_params,
                             BACKBONE_LI_WEIGHT_DECAY)
  kwargs.update(
      li_zone=int(options.li_zones_backbone),
      li_decay_std=float(options.li_decay_stds_backbone),
      li_rate=int(options.li_rates_backbone),
      li_weight_initilizer_params=_init_params(
          options.li_weight_initilizer_min_max_backbone))
  return kwargs


def dpn_li_kwargs(options, branch, batch_norm_params, weight_decay):
  """LI keyword arguments of DPN branch ``branch`` (0-based atrous rate);
  ``batch_norm_params`` are the DPN's BatchNorm arguments."""
  kwargs = _li_common_kwargs(options, batch_norm_params, weight_decay)
  zones = options.li_zones_dpn
  stds = options.li_decay_stds_dpn
  rates = options.li_rates_dpn
  kwargs.update(
      li_zone=int(zones[branch]) if zones is not None else 3,
      li_decay_std=float(stds[branch]) if stds is not None else 1.0,
      li_rate=int(rates[branch]) if rates is not None else 1,
      li_weight_initilizer_params=_init_params(
          options.li_weight_initilizer_min_max_dpn))
  return kwargs


def mobilenet_block_li_kwargs(options, batch_norm_params):
  """{block index: kwargs of expanded_conv_with_lateral_inhibition}."""
  backbone = registry.backbone(options.model_variant)
  if not (backbone.li and backbone.family == 'mobilenet'):
    return {}
  mo.check_choice('li_backbone_option_mnv2', options.li_backbone_option_mnv2,
                  registry.MNV2_LI_OPTIONS)
  if options.li_backbone_option_mnv2 in registry.UNVERIFIED_MNV2_OPTIONS:
    tf.logging.warning(
        'li_backbone_option_mnv2=%s: the original stops with a ValueError '
        'for it; its placement here (blocks %s) is our reading',
        options.li_backbone_option_mnv2,
        registry.MNV2_LI_BLOCKS[options.li_backbone_option_mnv2])
  kwargs = backbone_li_kwargs(options, batch_norm_params)
  kwargs['li_location'] = options.li_location_for_expanded_conv
  blocks = registry.MNV2_LI_BLOCKS[options.li_backbone_option_mnv2]
  return {block: dict(kwargs) for block in blocks}


def _units_for(position, num_units, block_name, block_pos):
  if position == 'all':
    return list(range(1, num_units + 1))
  count = 2 if (block_pos == 'last_two' and block_name != 'block4') else 1
  return list(range(num_units - count + 1, num_units + 1))


def resnet_unit_li_kwargs(options, units_per_block, batch_norm_params):
  """{'block<b>': {unit: kwargs of li_resnet_bottleneck}} for LI ResNets.

  Args:
    units_per_block: {'block<b>': number of units}.
    batch_norm_params: the ResNet's BatchNorm arguments; the LI layers'
      BatchNorm takes them with decay RESNET_LI_BATCH_NORM_DECAY.
  """
  backbone = registry.backbone(options.model_variant)
  if not (backbone.li and backbone.family == 'resnet'):
    return {}
  mo.check_choice('li_resnet_option', options.li_resnet_option,
                  registry.RESNET_LI_OPTIONS)
  kwargs = backbone_li_kwargs(
      options, dict(batch_norm_params, decay=RESNET_LI_BATCH_NORM_DECAY))
  kwargs['li_location'] = options.li_resnet_bottleneck_pos
  placement = {}
  units_of_option = registry.RESNET_LI_UNITS[options.li_resnet_option]
  for block_name, position in units_of_option.items():
    units = _units_for(position, units_per_block[block_name], block_name,
                       options.li_resnet_block_pos)
    placement[block_name] = {u: dict(kwargs) for u in units}
  return placement
