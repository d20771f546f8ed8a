"""Every BatchNorm of the training graph has the original's decay and epsilon.

The training graphs of the reference builds with a ``train`` manifest are
checked by test_graphs_reference.py (same build). Here the other reference
builds (config + extra flags of ``../shared/reference/graphs``) are built as
training graphs, one per distinct network, and checked the same way, plus an
LI-ResNet whose LI layers carry BatchNorm (not among the reference builds).
Values are read off the graph ops (graph_batch_norms.py); nothing is run.
"""
import glob
import json
import os

import pytest
import tensorflow.compat.v1 as tf

from helpers import graph_batch_norms as gbn
from libs.core.batch_norm import batch_norm
from helpers.paths import REFERENCE_GRAPHS_DIR, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

MANIFESTS = sorted(glob.glob(os.path.join(REFERENCE_GRAPHS_DIR, '*.json')))


def _network_key(config, flags):
  """The model options of a training build, minus what adds or changes no
  layer (class count, crop, LI initial ranges)."""
  from li_programs.config import config as config_lib
  from li_models import model_config
  cfg = config_lib.load_config(os.path.join(REPO_ROOT, 'config', config),
                               'train', flags)
  options = model_config.model_options_from_config(cfg, 2, None)
  return tuple((k, repr(v)) for k, v in sorted(options._asdict().items())
               if 'initilizer' not in k and k not in (
                   'outputs_to_num_classes', 'crop_size'))


def _builds_without_train_manifest():
  builds = []
  for path in MANIFESTS:
    with open(path) as f:
      manifest = json.load(f)
    builds.append((manifest['mode'], manifest['config'],
                   tuple(manifest['extra_flags']),
                   os.path.basename(path)[:-5]))
  covered = {_network_key(c, list(f)) for m, c, f, _ in builds
             if m == 'train'}
  chosen = []
  for _, config, flags, name in builds:
    key = _network_key(config, list(flags))
    if key not in covered:
      covered.add(key)
      chosen.append(pytest.param(config, list(flags), id=name))
  return chosen


BUILDS = _builds_without_train_manifest() if MANIFESTS else []


@pytest.mark.parametrize('config, flags', BUILDS)
def test_training_graph_batch_norms(config, flags):
  from tools import graph_manifest
  graph, _ = graph_manifest.build_graph_and_manifest(
      os.path.join(REPO_ROOT, 'config', config), 'train', flags)
  problems = gbn.batch_norm_problems(graph, training=True)
  assert not problems, problems[:10]


def test_li_resnet_batch_norm_takes_decay_0997_and_the_resnet_epsilon():
  from tools import graph_manifest
  graph, _ = graph_manifest.build_graph_and_manifest(
      os.path.join(REPO_ROOT, 'config', 'ADE20K', 'liResnet50_liAspp_dcd.ini'),
      'train', ['--li_with_batch_norm', '--li_resnet_option=e',
                '--train_crop_size=33,33'])
  layers = gbn.read_batch_norms(graph)
  li_layers = [s for s in layers if 'lateral_inhibition' in s]
  assert any(s.startswith('resnet_v1_50/block2') for s in li_layers)
  assert any(s.startswith('li_aspp/') for s in li_layers)
  assert not gbn.batch_norm_problems(graph, training=True)
  resnet_li = [s for s in li_layers if s.startswith('resnet_v1_50/')]
  assert resnet_li and all(gbn.expected_batch_norm(s) == (0.997, 1e-5)
                           for s in resnet_li)


def test_the_check_catches_other_values(fresh_graph):
  """A MobileNetV2 BatchNorm with the head's decay, a head BatchNorm with
  MobileNetV2's epsilon and a layer outside the known networks are all
  reported."""
  net = tf.zeros([1, 5, 5, 4])
  batch_norm(net, decay=0.9997, epsilon=1e-3, is_training=True,
                  scope='MobilenetV2/Conv/BatchNorm')
  batch_norm(net, decay=0.9997, epsilon=1e-3, is_training=True,
                  scope='li_aspp/branch_0/BatchNorm')
  batch_norm(net, decay=0.9997, epsilon=1e-5, is_training=True,
                  scope='decoder/feature_projection0/BatchNorm')
  batch_norm(net, decay=0.9, is_training=True, scope='other/BatchNorm')
  problems = gbn.batch_norm_problems(fresh_graph, training=True)
  assert any(p.startswith('MobilenetV2/Conv/BatchNorm: decay 0.9997')
             for p in problems), problems
  assert any(p.startswith('li_aspp/branch_0/BatchNorm: epsilon 0.001,')
             for p in problems), problems
  assert not any(p.startswith('decoder/') for p in problems), problems
  assert any(p.startswith('other/BatchNorm: not in a known network')
             for p in problems), problems
  assert len({p.split(':')[0] for p in problems}) == 3, problems
