"""Every model variant and LI placement choice, in one place.

``BACKBONES`` lists each backbone variant with its traits; ``DPNS`` each
dense prediction network; ``MNV2_LI_BLOCKS`` and ``RESNET_LI_UNITS`` where
each lateral-inhibition option puts its LI layers.  The model options, the
config schema (choices), ``--help`` and the model code read their choices
and traits from these tables: adding a variant or an LI option is one entry
here.  Pure Python (no TensorFlow) so that ``--help`` stays fast.
"""
import collections

# family: 'mobilenet' or 'resnet'; depth: ResNet depth (None for MobileNetV2);
# beta_root: ResNet with the three-3x3 "beta" root block; li: carries LI
# layers; checkpoint_scope: outer variable scope (that of the ImageNet
# checkpoints); decoder_end_point: the stride-4 end point the decoder
# projects, relative to the backbone's end points; normalisation: input
# normalisation ('unit_range': [0, 255] -> [-1, 1]; 'mean_rgb': ImageNet
# mean RGB subtracted); bn_decay / bn_epsilon: the backbone's BatchNorm
# (MobileNetV2 keeps slim's training-scope values, the ResNets DeepLab's).
Backbone = collections.namedtuple(
    'Backbone', ['name', 'family', 'depth', 'beta_root', 'li',
                 'checkpoint_scope', 'decoder_end_point', 'normalisation',
                 'bn_decay', 'bn_epsilon'])

_MNV2_DECODER_END_POINT = 'layer_4/depthwise_output'
_RESNET_DECODER_UNIT = 'block1/unit_2/bottleneck_v1/conv3'


def _mobilenet(name, li):
  return Backbone(name, 'mobilenet', None, False, li, 'MobilenetV2',
                  _MNV2_DECODER_END_POINT, 'unit_range', 0.997, 0.001)


def _resnet(name, depth, beta_root, li):
  scope = 'resnet_v1_%d' % depth
  return Backbone(name, 'resnet', depth, beta_root, li, scope,
                  '%s/%s' % (scope, _RESNET_DECODER_UNIT),
                  'unit_range' if beta_root else 'mean_rgb', 0.95, 1e-5)


BACKBONES = collections.OrderedDict((b.name, b) for b in (
    _mobilenet('mobilenet_v2', li=False),
    _mobilenet('li_mobilenet_v2', li=True),
    _resnet('resnet_v1_50', 50, beta_root=False, li=False),
    _resnet('resnet_v1_50_beta', 50, beta_root=True, li=False),
    _resnet('li_resnet_v1_50_beta', 50, beta_root=True, li=True),
    _resnet('resnet_v1_101', 101, beta_root=False, li=False),
    _resnet('resnet_v1_101_beta', 101, beta_root=True, li=False),
    _resnet('li_resnet_v1_101_beta', 101, beta_root=True, li=True),
))

MODEL_VARIANTS = tuple(BACKBONES)
MOBILENET_VARIANTS = tuple(n for n, b in BACKBONES.items()
                           if b.family == 'mobilenet')
RESNET_VARIANTS = tuple(n for n, b in BACKBONES.items()
                        if b.family == 'resnet')

# dense: DenseASPP instead of ASPP; none: no dense prediction network.
Dpn = collections.namedtuple('Dpn', ['name', 'dense', 'li', 'none'])
DPNS = collections.OrderedDict((d.name, d) for d in (
    Dpn('aspp', dense=False, li=False, none=False),
    Dpn('li_aspp', dense=False, li=True, none=False),
    Dpn('dense_aspp', dense=True, li=False, none=False),
    Dpn('li_dense_aspp', dense=True, li=True, none=False),
    Dpn('ignore', dense=False, li=False, none=True),
))
DPN_VARIANTS = tuple(DPNS)

# li_backbone_option_mnv2 -> inverted-residual blocks carrying LI (0 =
# ``expanded_conv``, k = ``expanded_conv_k``), as read off the published
# LI-Convs graphs.  Option ``i`` does not occur there (the original stops
# with a ValueError for it); it is taken to be the complement of ``h`` (the
# blocks after the stride-8 stage).
MNV2_LI_BLOCKS = collections.OrderedDict([
    ('a', (2, 4, 5, 7, 10, 14)),
    ('b', (2, 5, 9, 12, 15)),
    ('c', (16,)),
    ('d', (15,)),
    ('e', (12, 15)),
    ('f', (9, 12, 15)),
    ('g', tuple(range(17))),
    ('h', tuple(range(6))),
    ('i', tuple(range(6, 17))),
    ('j', (9, 12, 15, 16)),
    ('k', (13, 14, 15)),
    ('l', (13, 14, 15, 16)),
    ('m', (15, 16)),
])
# Options whose placement could not be checked against the original.
UNVERIFIED_MNV2_OPTIONS = ('i',)

# li_resnet_option -> for each block, which units carry LI: 'last' (the
# block's last unit) or 'all'.
RESNET_LI_UNITS = collections.OrderedDict([
    ('a', {'block3': 'last', 'block4': 'all'}),
    ('b', {'block4': 'all'}),
    ('c', {'block3': 'last', 'block4': 'last'}),
    ('d', {'block4': 'last'}),
    ('e', {'block2': 'last', 'block3': 'last', 'block4': 'last'}),
    ('f', {'block3': 'last'}),
])

MNV2_LI_OPTIONS = tuple(MNV2_LI_BLOCKS)
RESNET_LI_OPTIONS = tuple(RESNET_LI_UNITS)
RESNET_LI_BLOCK_POSITIONS = ('last', 'last_two')
RESNET_LI_BOTTLENECK_POSITIONS = ('after_conv1', 'before_conv1')
EXPANDED_CONV_LI_LOCATIONS = ('after_expansion', 'after_input')
LI_ACTIVATIONS = ('relu', 'relu6', 'none')
LI_WEIGHT_INITIALIZERS = ('random_uniform',)
MERGE_METHODS = ('max', 'avg')


def _lookup(table, kind, name):
  try:
    return table[name]
  except (KeyError, TypeError) as err:
    raise ValueError('%s must be one of %s, got %r'
                     % (kind, ', '.join(table), name)) from err


def backbone(model_variant):
  """The ``Backbone`` entry of ``model_variant`` (one-line ValueError when
  unknown)."""
  return _lookup(BACKBONES, 'model_variant', model_variant)


def dpn(dpn_variant):
  """The ``Dpn`` entry of ``dpn_variant``."""
  return _lookup(DPNS, 'dpn_variant', dpn_variant)


def uses_li(model_variant, dpn_variant):
  """True when the backbone or the DPN carries LI layers (unknown names
  count as no LI; the option checks name them)."""
  entries = (BACKBONES.get(model_variant), DPNS.get(dpn_variant))
  return any(entry is not None and entry.li for entry in entries)
