"""The Keras LateralInhibition layer (li_utils/layers.py) against the graph
layer: equal to 1e-6 on random inputs and weights for several argument
sets, inside a functional keras.Model that trains one step (the weights
move and stay clipped), saved and loaded with the model.  The checks run in
a fresh interpreter (tests/keras_layer_checks.py), since Keras needs
TensorFlow's default behaviour, which this process turns off: Keras 3 on
TensorFlow 2.x, TensorFlow 1.15's own Keras under 1.15."""
import json
import os
import subprocess
import sys

import pytest

from helpers.paths import TESTS_DIR
from libs.core import tf_compat

pytestmark = [pytest.mark.slow, pytest.mark.tf2]


def test_keras_layer_matches_the_graph_layer_trains_and_saves(tmp_path):
  result = subprocess.run(
      [sys.executable,
       os.path.join(TESTS_DIR, 'helpers', 'keras_layer_checks.py'),
       str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=600,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert report['max_difference'] <= 1e-6
  assert report['max_difference_after_step'] <= 1e-6
  if tf_compat.tensorflow_major() >= 2:
    assert report['keras'].startswith('3.')
    assert report['saved_as'] == 'li_model.keras'
  else:
    assert report['saved_as'] == 'li_model.h5'
  assert os.path.isfile(os.path.join(str(tmp_path), report['saved_as']))


def test_layer_imports_and_checks_arguments_in_this_process():
  from li_utils import layers
  with pytest.raises(ValueError, match='li_zone must be an odd positive'):
    layers.LateralInhibition(li_zone=2)
  layer = layers.LateralInhibition(li_zone=5, li_weight_clip_values=None)
  config = layer.get_config()
  assert config['li_zone'] == 5 and config['li_weight_clip_values'] is None
  assert set(layers.custom_objects()) == {'LateralInhibition',
                                          'ClipLIWeights'}
