"""Bridge from a loaded config (``config.load_config``) to ModelOptions.

Only entry points read configs; model code receives the ``ModelOptions``
built here.  ``atrous_rates`` and ``output_stride`` come from the config of
the program's mode, so a test config may use other rates than training.
"""
from li_models import model_options as mo

OUTPUT_TYPE = 'semantic'

# Config option -> ModelOptions field, copied verbatim when present.
_COPIED = (
    'model_variant', 'dpn_variant', 'add_image_level_feature',
    'image_pooling_crop_size', 'image_pooling_stride', 'aspp_with_batch_norm',
    'aspp_with_separable_conv', 'li_aspp_name_scope_compatible',
    'decoder_output_stride', 'decoder_use_separable_conv', 'multi_grid',
    'depth_multiplier', 'logits_kernel_size', 'merge_method', 'atrous_rates',
    'op_graph',
    'output_stride', 'divisible_by', 'prediction_with_upsampled_logits',
    'li_zones_dpn', 'li_decay_stds_dpn', 'li_rates_dpn',
    'li_weight_initilizer_min_max_dpn', 'li_zones_backbone',
    'li_decay_stds_backbone', 'li_rates_backbone',
    'li_weight_initilizer_min_max_backbone', 'li_activation',
    'li_weight_initilizer', 'li_weight_clip_values', 'li_with_batch_norm',
    'li_with_weight_regularizer', 'li_location_for_expanded_conv',
    'li_backbone_option_mnv2', 'li_resnet_option', 'li_resnet_bottleneck_pos',
    'li_resnet_block_pos',
)

# Backbone LI options are scalars; a one-element list is accepted too.
_SCALARS = ('li_zones_backbone', 'li_decay_stds_backbone', 'li_rates_backbone')

# LI init ranges that fall back on li_weight_initilizer_min_max when unset.
_INIT_RANGE_FALLBACK = 'li_weight_initilizer_min_max'
_INIT_RANGES = ('li_weight_initilizer_min_max_dpn',
                'li_weight_initilizer_min_max_backbone')


def _get(cfg, name):
  try:
    return getattr(cfg, name)
  except AttributeError:
    return None


def model_options_from_config(cfg, num_classes, crop_size):
  """ModelOptions for ``cfg`` with ``num_classes`` outputs at ``crop_size``.

  Args:
    cfg: object with attribute access to the config options (options it
      lacks keep the ModelOptions default).
    num_classes: classes of the dataset (incl. background).
    crop_size: [height, width] of the network input, or None.

  Raises:
    ValueError: invalid option values (one line, naming the option).
  """
  kwargs = {}
  for name in _COPIED:
    value = _get(cfg, name)
    if value is None:
      continue
    if name in _SCALARS and isinstance(value, (list, tuple)):
      if len(value) != 1:
        raise ValueError('%s takes one value, got %r' % (name, value))
      value = value[0]
    kwargs[name] = value
  fallback = _get(cfg, _INIT_RANGE_FALLBACK)
  for name in _INIT_RANGES:
    if name not in kwargs and fallback is not None:
      kwargs[name] = fallback
  if crop_size is not None:
    crop_size = [int(d) for d in crop_size]
  return mo.ModelOptions({OUTPUT_TYPE: int(num_classes)},
                         crop_size=crop_size, **kwargs)
