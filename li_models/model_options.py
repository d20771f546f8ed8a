"""Options of the DeepLab-style segmentation model, with validation.

``ModelOptions`` is an immutable namedtuple: build it with keyword arguments
(everything except ``outputs_to_num_classes`` has a default) and derive
variants with ``_replace``.  ``validate_model_options`` checks every choice
and list length and raises a one-line ``ValueError`` naming the option and
the allowed values; model-building entry points call it before creating any
op, so bad options never surface as errors from deep inside TensorFlow.
"""
import collections

import tensorflow.compat.v1 as tf

from libs.core import op_graphs
from li_models import registry
from li_utils import conv_ops

_DEFAULTS = collections.OrderedDict([
    ('outputs_to_num_classes', None),
    ('crop_size', None),
    ('atrous_rates', None),
    ('output_stride', 8),
    ('preprocessed_images_dtype', tf.float32),
    ('merge_method', 'max'),
    ('add_image_level_feature', True),
    ('image_pooling_crop_size', None),
    ('image_pooling_stride', (1, 1)),
    ('aspp_with_batch_norm', True),
    # Kept for the original's command lines; the ASPP branches are
    # separable either way, as the original's (li_models/dpn.py).
    ('aspp_with_separable_conv', True),
    ('multi_grid', None),
    ('decoder_output_stride', None),
    ('decoder_use_separable_conv', True),
    ('logits_kernel_size', 1),
    ('model_variant', 'mobilenet_v2'),
    ('depth_multiplier', 1.0),
    ('divisible_by', None),
    ('prediction_with_upsampled_logits', True),
    ('dpn_variant', 'aspp'),
    ('li_aspp_name_scope_compatible', False),
    # Lateral inhibition in the DPN: one entry per atrous rate.
    ('li_zones_dpn', None),
    ('li_decay_stds_dpn', None),
    ('li_rates_dpn', None),
    ('li_weight_initilizer_min_max_dpn', (0.0, 0.0)),
    # Lateral inhibition in the backbone: one value for every LI layer.
    ('li_zones_backbone', 3),
    ('li_decay_stds_backbone', 1.0),
    ('li_rates_backbone', 1),
    ('li_weight_initilizer_min_max_backbone', (0.0, 0.0)),
    ('li_activation', 'relu'),
    ('li_weight_initilizer', 'random_uniform'),
    ('li_weight_clip_values', (0.0, 1.0)),
    ('li_with_batch_norm', False),
    ('li_with_weight_regularizer', False),
    ('li_location_for_expanded_conv', 'after_expansion'),
    ('li_backbone_option_mnv2', 'e'),
    ('li_resnet_option', 'd'),
    ('li_resnet_bottleneck_pos', 'after_conv1'),
    ('li_resnet_block_pos', 'last'),
    # 'fast' or 'original' op graph (libs/core/conv_layers.py); the
    # variables and, up to float rounding, the results are the same.
    ('op_graph', op_graphs.FAST),
    # 3x3 convolutions by Winograd where it pays (libs/core/winograd.py):
    # the graphs converted to TensorFlow Lite take the config key's value.
    ('winograd', False),
])


class ModelOptions(collections.namedtuple('ModelOptions', list(_DEFAULTS))):
  """Immutable model options; see ``_DEFAULTS`` in this module for defaults.

  ``outputs_to_num_classes`` maps output names to class counts, e.g.
  ``{'semantic': 21}``.  ``crop_size`` is [height, width] of the network
  input (used by image pooling and the decoder); ``atrous_rates`` are the
  ASPP rates; list-valued options accept lists or tuples.
  """
  __slots__ = ()

  def __new__(cls, outputs_to_num_classes, **kwargs):
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
      raise ValueError('ModelOptions: unknown option(s) %s'
                       % ', '.join(unknown))
    values = dict(_DEFAULTS)
    values.update(kwargs)
    values['outputs_to_num_classes'] = outputs_to_num_classes
    options = super(ModelOptions, cls).__new__(cls, **values)
    validate_model_options(options)
    return options

  def __reduce__(self):
    # By keyword, as __new__ takes them (the TensorFlow Lite conversion
    # receives the options pickled).
    return (_model_options, (dict(self._asdict()),))


def _model_options(values):
  return ModelOptions(**values)


def check_choice(name, value, allowed):
  """Raises a one-line ValueError unless ``value`` is one of ``allowed``."""
  if value not in allowed:
    raise ValueError('%s must be one of %s, got %r'
                     % (name, ', '.join(str(a) for a in allowed), value))


def _positive_int_list(name, values, allow_none=True):
  if values is None:
    if allow_none:
      return
    raise ValueError('%s must be set' % name)
  try:
    ints = [int(v) for v in values]
  except (TypeError, ValueError) as err:
    raise ValueError('%s must be a list of positive integers, got %r'
                     % (name, values)) from err
  if any(i < 1 or i != v for i, v in zip(ints, values)):
    raise ValueError('%s must be a list of positive integers, got %r'
                     % (name, values))


def _pair(name, values):
  try:
    low, high = [float(v) for v in values]
  except (TypeError, ValueError) as err:
    raise ValueError('%s must be a pair min,max, got %r'
                     % (name, values)) from err
  if low > high:
    raise ValueError('%s must satisfy min <= max, got %r' % (name, values))


def uses_li_dpn(options):
  return registry.dpn(options.dpn_variant).li


def uses_li_backbone(options):
  return registry.backbone(options.model_variant).li


def _validate_li_dpn(options):
  rates = list(options.atrous_rates or [])
  if not rates:
    raise ValueError('dpn_variant %s needs atrous_rates (one LI layer per '
                     'rate)' % options.dpn_variant)
  for name in ('li_zones_dpn', 'li_decay_stds_dpn', 'li_rates_dpn'):
    values = getattr(options, name)
    if values is None:
      continue
    # Entries beyond the atrous rates are left unused, as in the original
    # (programs print a note); too few made the original fail.
    if isinstance(values, (int, float)) or len(values) < len(rates):
      raise ValueError('%s must have one entry per atrous rate (%d for '
                       'atrous_rates=%s), got %r'
                       % (name, len(rates), ','.join(map(str, rates)), values))
  used = len(rates)
  for zone in (options.li_zones_dpn or [])[:used]:
    conv_ops.check_zone(zone, 'li_zones_dpn entries')
  for std in (options.li_decay_stds_dpn or [])[:used]:
    if not float(std) > 0:
      raise ValueError('li_decay_stds_dpn entries must be > 0, got %r' % std)
  if options.li_rates_dpn is not None:
    _positive_int_list('li_rates_dpn', list(options.li_rates_dpn)[:used])
  _pair('li_weight_initilizer_min_max_dpn',
        options.li_weight_initilizer_min_max_dpn)


def _validate_li_backbone(options):
  conv_ops.check_zone(options.li_zones_backbone, 'li_zones_backbone')
  if not float(options.li_decay_stds_backbone) > 0:
    raise ValueError('li_decay_stds_backbone must be > 0, got %r'
                     % options.li_decay_stds_backbone)
  _positive_int_list('li_rates_backbone', [options.li_rates_backbone])
  _pair('li_weight_initilizer_min_max_backbone',
        options.li_weight_initilizer_min_max_backbone)
  if registry.backbone(options.model_variant).family == 'mobilenet':
    check_choice('li_backbone_option_mnv2', options.li_backbone_option_mnv2,
                 registry.MNV2_LI_OPTIONS)
    check_choice('li_location_for_expanded_conv',
                 options.li_location_for_expanded_conv,
                 registry.EXPANDED_CONV_LI_LOCATIONS)
  else:
    check_choice('li_resnet_option', options.li_resnet_option,
                 registry.RESNET_LI_OPTIONS)
    check_choice('li_resnet_block_pos', options.li_resnet_block_pos,
                 registry.RESNET_LI_BLOCK_POSITIONS)
    check_choice('li_resnet_bottleneck_pos', options.li_resnet_bottleneck_pos,
                 registry.RESNET_LI_BOTTLENECK_POSITIONS)


def validate_model_options(options):
  """Raises ValueError (one line, naming the option) on invalid options."""
  if not isinstance(options.outputs_to_num_classes, dict) or not all(
      isinstance(n, int) and n > 0
      for n in options.outputs_to_num_classes.values()):
    raise ValueError('outputs_to_num_classes must map output names to '
                     'positive class counts, got %r'
                     % (options.outputs_to_num_classes,))
  check_choice('model_variant', options.model_variant,
               registry.MODEL_VARIANTS)
  check_choice('dpn_variant', options.dpn_variant, registry.DPN_VARIANTS)
  check_choice('merge_method', options.merge_method,
               registry.MERGE_METHODS)
  check_choice('op_graph', options.op_graph, op_graphs.OP_GRAPHS)
  check_choice('winograd', options.winograd, (False, True))
  check_choice('output_stride', options.output_stride, (4, 8, 16, 32))
  if options.decoder_output_stride is not None:
    check_choice('decoder_output_stride', options.decoder_output_stride, (4,))
  if options.crop_size is not None:
    _positive_int_list('crop_size', options.crop_size)
    if len(options.crop_size) != 2:
      raise ValueError('crop_size must be [height, width], got %r'
                       % (options.crop_size,))
  _positive_int_list('atrous_rates', options.atrous_rates)
  _positive_int_list('multi_grid', options.multi_grid)
  if options.logits_kernel_size != 1 and options.aspp_with_batch_norm:
    raise ValueError('logits_kernel_size must be 1 when aspp_with_batch_norm '
                     'is set, got %r' % options.logits_kernel_size)
  if not float(options.depth_multiplier) > 0:
    raise ValueError('depth_multiplier must be > 0, got %r'
                     % options.depth_multiplier)
  li_activation = options.li_activation
  check_choice('li_activation',
               'none' if li_activation is None else li_activation,
               registry.LI_ACTIVATIONS)
  check_choice('li_weight_initilizer', options.li_weight_initilizer,
               registry.LI_WEIGHT_INITIALIZERS)
  _pair('li_weight_clip_values', options.li_weight_clip_values)
  if uses_li_dpn(options):
    _validate_li_dpn(options)
  if uses_li_backbone(options):
    _validate_li_backbone(options)
