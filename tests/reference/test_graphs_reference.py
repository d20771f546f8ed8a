"""Every reference graph of the running original is rebuilt, variable by
variable.

The manifests under ``tests/data/reference_graphs`` (copied from the shared
reference set) list the variables
(name, shape, trainable, model-variable flag), logits shape, number of L2
losses and trainable parameters of graphs built by the original LI-Convs
code.  Each is rebuilt here with ``tools.graph_manifest.build_manifest`` (the
tool's own code path) and must agree exactly; variable order is not compared.
The same build also checks every BatchNorm's epsilon (and, in training
graphs, its moving-average decay) against the original's values
(graph_batch_norms.py). Every graph is built under both op graphs
(``op_graph`` fast, the default, and original), which must hold the same
variables.
"""
import glob
import json
import os

import numpy as np
import pytest

from helpers import graph_batch_norms
from libs.core import op_graphs
from helpers.paths import REFERENCE_GRAPHS_DIR, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.tf2]
MANIFESTS = sorted(glob.glob(os.path.join(REFERENCE_GRAPHS_DIR, '*.json')))
SCALAR_FIELDS = ('dataset', 'num_classes', 'crop_size', 'logits_shape',
                 'num_regularization_losses', 'trainable_params')


def _by_name(variables):
  table = {}
  for v in variables:
    assert v['name'] not in table, 'variable %s listed twice' % v['name']
    table[v['name']] = (list(v['shape']), bool(v['trainable']),
                        bool(v['model']))
  return table


def _built_op_graph(graph, mode):
  """Which op graph ``graph`` was built as, read off its ops: the original
  runs every BatchNorm as its own op and has no MatMul; the fast one folds
  BatchNorm into the convolutions at inference and makes 1x1 training
  layers MatMuls."""
  types = [op.type for op in graph.get_operations()]
  batch_norms = sum(t.startswith('FusedBatchNorm') for t in types)
  moving_means = sum(op.type.startswith('Variable') and
                     op.name.endswith('/moving_mean')
                     for op in graph.get_operations())
  if mode == 'test':
    return (op_graphs.ORIGINAL if batch_norms == moving_means
            else op_graphs.FAST)
  return op_graphs.FAST if 'MatMul' in types else op_graphs.ORIGINAL


@pytest.mark.parametrize('op_graph', op_graphs.OP_GRAPHS)
@pytest.mark.parametrize('manifest_path', MANIFESTS,
                         ids=[os.path.basename(p)[:-5] for p in MANIFESTS])
def test_graph_matches_reference(manifest_path, op_graph):
  from tools import graph_manifest
  with open(manifest_path) as f:
    reference = json.load(f)
  config_file = os.path.join(REPO_ROOT, 'config', reference['config'])
  graph, ours = graph_manifest.build_graph_and_manifest(
      config_file, reference['mode'],
      list(reference['extra_flags']) + ['--op_graph=%s' % op_graph])
  assert _built_op_graph(graph, reference['mode']) == op_graph

  assert ours['config'] == reference['config']
  for field in SCALAR_FIELDS:
    assert ours[field] == reference[field], field
  expected = _by_name(reference['variables'])
  got = _by_name(ours['variables'])
  missing = sorted(set(expected) - set(got))
  extra = sorted(set(got) - set(expected))
  assert not missing, 'missing variables: %s' % missing[:10]
  assert not extra, 'unexpected variables: %s' % extra[:10]
  differing = [(name, expected[name], got[name]) for name in expected
               if expected[name] != got[name]]
  assert not differing, 'shape/trainable/model differ: %s' % differing[:10]
  assert sum(int(np.prod(shape)) for shape, trainable, _ in got.values()
             if trainable) == reference['trainable_params']
  problems = graph_batch_norms.batch_norm_problems(
      graph, training=reference['mode'] == 'train')
  assert not problems, problems[:10]


def test_reference_set_is_complete():
  assert len(MANIFESTS) == 45
