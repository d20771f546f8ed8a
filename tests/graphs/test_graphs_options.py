"""Invalid model options stop with one-line errors naming the option."""
import os

import pytest
import tensorflow.compat.v1 as tf

from li_models import model
from li_models import model_options as mo
from li_models import model_config

from helpers.paths import REPO_ROOT
MNV2_CONFIG = os.path.join(REPO_ROOT, 'config', 'ADE20K', 'liMnv2_liAspp.ini')
RESNET_CONFIG = os.path.join(REPO_ROOT, 'config', 'ADE20K',
                             'liResnet50_liAspp_dcd.ini')


def _options(**overrides):
  kwargs = dict(crop_size=[33, 33], atrous_rates=[6, 12, 18],
                output_stride=16, model_variant='li_mobilenet_v2',
                dpn_variant='li_aspp', li_zones_dpn=[3, 3, 3],
                li_decay_stds_dpn=[1.0, 1.0, 1.0], li_rates_dpn=[1, 1, 1])
  kwargs.update(overrides)
  return mo.ModelOptions({'semantic': 5}, **kwargs)


def _assert_one_line(error, *words):
  message = str(error.value)
  assert '\n' not in message
  for word in words:
    assert word in message, (word, message)


BAD_OPTIONS = [
    (dict(model_variant='resnet_v1_152'), ('model_variant', 'mobilenet_v2')),
    (dict(dpn_variant='psp'), ('dpn_variant', 'li_dense_aspp')),
    (dict(li_backbone_option_mnv2='n'), ('li_backbone_option_mnv2',)),
    (dict(model_variant='li_resnet_v1_50_beta', li_resnet_option='g'),
     ('li_resnet_option', 'a, b, c, d, e, f')),
    (dict(model_variant='li_resnet_v1_50_beta', li_resnet_block_pos='first'),
     ('li_resnet_block_pos',)),
    (dict(model_variant='li_resnet_v1_50_beta',
          li_resnet_bottleneck_pos='after_conv2'),
     ('li_resnet_bottleneck_pos',)),
    (dict(li_location_for_expanded_conv='after_project'),
     ('li_location_for_expanded_conv',)),
    (dict(li_zones_dpn=[3, 3]), ('li_zones_dpn', 'atrous rate', '3')),
    (dict(li_decay_stds_dpn=[1.0]), ('li_decay_stds_dpn', 'atrous rate')),
    (dict(li_rates_dpn=[1, 1]), ('li_rates_dpn', 'atrous rate')),
    (dict(dpn_variant='li_dense_aspp', li_zones_dpn=[3, 3]),
     ('li_zones_dpn',)),
    (dict(li_zones_dpn=[3, 4, 3]), ('li_zones_dpn', 'odd')),
    (dict(li_zones_backbone=2), ('li_zones_backbone', 'odd')),
    (dict(li_activation='tanh'), ('li_activation', 'relu6')),
    (dict(output_stride=12), ('output_stride',)),
    (dict(atrous_rates=None), ('atrous_rates',)),
]


@pytest.mark.parametrize('overrides,words', BAD_OPTIONS,
                         ids=[sorted(o)[-1] for o, _ in BAD_OPTIONS])
def test_invalid_options_are_rejected(overrides, words):
  with pytest.raises(ValueError) as error:
    _options(**overrides)
  _assert_one_line(error, *words)


@pytest.mark.parametrize('overrides,words', [
    (dict(model_variant='xception_65'), ('model_variant',)),
    (dict(dpn_variant='li_psp'), ('dpn_variant',)),
    (dict(li_backbone_option_mnv2='z'), ('li_backbone_option_mnv2',)),
    (dict(li_zones_dpn=[3, 3]), ('li_zones_dpn', 'atrous rate')),
    (dict(li_zones_dpn=[3, 3, 6]), ('li_zones_dpn', 'odd')),
])
def test_model_building_rejects_invalid_options(fresh_graph, overrides,
                                                words):
  # _replace skips the constructor's check: the model code must catch it
  # before building anything.
  options = _options()._replace(**overrides)
  images = tf.placeholder(tf.float32, [1, 33, 33, 3])
  with pytest.raises(ValueError) as error:
    model.multi_scale_logits(images, options)
  _assert_one_line(error, *words)
  assert not tf.global_variables()


def test_li_resnet_with_unknown_option_fails_in_placement(fresh_graph):
  options = _options(model_variant='li_resnet_v1_50_beta')._replace(
      li_resnet_option='x')
  images = tf.placeholder(tf.float32, [1, 33, 33, 3])
  with pytest.raises(ValueError) as error:
    model.predict_labels(images, options)
  _assert_one_line(error, 'li_resnet_option')


@pytest.mark.parametrize('config_file,flags,words', [
    (MNV2_CONFIG, ['--model_variant=mobilenet_v3'], ('model_variant',)),
    (MNV2_CONFIG, ['--dpn_variant=aspp3'], ('dpn_variant',)),
    (MNV2_CONFIG, ['--li_backbone_option_mnv2=q'],
     ('li_backbone_option_mnv2',)),
    (RESNET_CONFIG, ['--li_resnet_option=h'], ('li_resnet_option',)),
    (MNV2_CONFIG, ['--li_rates_dpn=1,1'], ('li_rates_dpn', 'atrous rate')),
    (MNV2_CONFIG, ['--li_zones_backbone=4'], ('li_zones_backbone', 'odd')),
    (RESNET_CONFIG, ['--li_zones_dpn=3,3,2'], ('li_zones_dpn', 'odd')),
])
def test_manifest_tool_rejects_invalid_flags(config_file, flags, words):
  from tools import graph_manifest
  with pytest.raises(ValueError) as error:
    graph_manifest.build_manifest(config_file, 'test', flags)
  _assert_one_line(error, *words)


def test_model_options_from_config_accepts_single_item_lists():
  class Cfg(object):
    model_variant = 'li_mobilenet_v2'
    dpn_variant = 'li_aspp'
    atrous_rates = [6, 12, 18]
    output_stride = 16
    li_zones_backbone = [5]

  options = model_config.model_options_from_config(Cfg(), 21, (65, 65))
  assert options.li_zones_backbone == 5
  assert options.crop_size == [65, 65]
  assert options.outputs_to_num_classes == {'semantic': 21}
  Cfg.li_zones_backbone = [3, 5]
  with pytest.raises(ValueError, match='li_zones_backbone'):
    model_config.model_options_from_config(Cfg(), 21, (65, 65))


def test_unknown_model_options_keyword():
  with pytest.raises(ValueError, match='li_zone_dpn'):
    mo.ModelOptions({'semantic': 2}, li_zone_dpn=[3])
