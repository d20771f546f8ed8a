"""FLOPs / parameters of the two cheapest shipped eval graphs: the original's.

The full six-config table comes from ``python -m tools.model_flops --shipped``
(the ResNet-50 graphs take too long for the test suite).
"""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from li_models import model_options as mo
from li_models import model_stats
from tools import model_flops

from helpers.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.tf2]
CHEAPEST = [entry for entry in model_flops.SHIPPED
            if entry[0] in ('ADE20K/liMnv2_liAspp.ini',
                            'CelebAMask_HQ/liMnv2_liAspp.ini')]


@pytest.mark.parametrize('name,crop,flops,params', CHEAPEST,
                         ids=[c[0] for c in CHEAPEST])
def test_shipped_config_flops_and_params(name, crop, flops, params):
  got_flops, got_params, got_crop = model_flops.config_flops_and_params(
      os.path.join(REPO_ROOT, 'config', name))
  assert got_crop == [crop, crop]
  assert got_params == params
  assert abs(got_flops - flops) <= 0.001 * flops


def test_eval_graph_is_batch_one_and_ends_in_the_argmax():
  options = mo.ModelOptions({'semantic': 4}, model_variant='mobilenet_v2',
                            dpn_variant='ignore', output_stride=16)
  graph, name = model_stats.build_eval_graph(options, [33, 33])
  assert tf.get_default_graph() is not graph
  output = graph.get_operation_by_name(name)
  assert output.inputs[0].op.type == 'ArgMax'
  assert output.outputs[0].shape.as_list() == [1, 33, 33]
  images = graph.get_tensor_by_name('images:0')
  assert images.shape.as_list() == [1, 33, 33, 3]
  assert model_stats.trainable_parameter_count(graph) == sum(
      int(np.prod(v.shape.as_list()))
      for v in graph.get_collection('trainable_variables'))
  with pytest.raises(ValueError, match='crop_size'):
    model_stats.build_eval_graph(options, [33])
