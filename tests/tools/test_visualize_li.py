"""tools/visualize_li.py on a checkpoint with known LI weights."""
import os
import subprocess
import sys

import numpy as np
import tensorflow.compat.v1 as tf
from PIL import Image

from helpers.paths import REPO_ROOT
from li_programs.report import li_visualization
from li_utils import conv_ops

TOOL = os.path.join(REPO_ROOT, 'tools', 'visualize_li.py')


def _save_checkpoint(directory, with_li=True):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.zeros([1, 9, 9, 4])
    if with_li:
      with tf.variable_scope('li_aspp/branch_2'):
        conv_ops.lateral_inhibition_layer(
            x, li_weight_initilizer_params={'minval': 0.1, 'maxval': 0.3})
      with tf.variable_scope('MobilenetV2/expanded_conv_12'):
        conv_ops.lateral_inhibition_layer(
            tf.zeros([1, 9, 9, 6]),
            li_weight_initilizer_params={'minval': 0.5, 'maxval': 0.5})
    else:
      tf.get_variable('logits/weights', [1, 1, 4, 2])
    saver = tf.train.Saver()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      values = {v.op.name: sess.run(v) for v in tf.global_variables()}
      path = saver.save(sess, os.path.join(directory, 'model.ckpt'),
                        global_step=7)
  return path, values


def test_reads_layers_with_config_zones(tmp_path):
  path, values = _save_checkpoint(str(tmp_path))
  layers = li_visualization.read_li_layers(str(tmp_path), {
      'li_zones_dpn': [3, 5, 7], 'li_decay_stds_dpn': [1.0, 2.0, 3.0],
      'li_zones_backbone': 3, 'li_decay_stds_backbone': 0.5})
  by_name = {layer.name: layer for layer in layers}
  branch = by_name['li_aspp/branch_2/lateral_inhibition']
  assert (branch.zone, branch.sigma) == (5, 2.0)
  np.testing.assert_allclose(
      branch.weights, values['li_aspp/branch_2/lateral_inhibition/li_weights']
      .ravel())
  backbone = by_name['MobilenetV2/expanded_conv_12/lateral_inhibition']
  assert (backbone.zone, backbone.sigma) == (3, 0.5)
  assert backbone.weights.shape == (6,)


def test_numpy_kernel_matches_tensorflow_kernel():
  with tf.Graph().as_default(), tf.Session() as sess:
    kernel = sess.run(conv_ops.create_lateral_inhibition_kernel(
        tf.constant(np.full((1, 1, 1, 1), 0.4, np.float32)), 5, 1.5))
  np.testing.assert_allclose(li_visualization.kernel_for_weight(0.4, 5, 1.5),
                             kernel[:, :, 0, 0], rtol=1e-6)


def test_tool_writes_figures_and_table(tmp_path):
  path, values = _save_checkpoint(str(tmp_path))
  out = tmp_path / 'figs'
  result = subprocess.run(
      [sys.executable, TOOL, '--checkpoint_path', path, '--output_dir',
       str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  for name in ('li_kernels.png', 'li_weight_distributions.png'):
    with Image.open(str(out / name)) as image:
      assert image.format == 'PNG'
      assert image.size[0] > 300 and image.size[1] > 200
  table = (out / 'li_weights.txt').read_text()
  assert 'li_aspp/branch_2/lateral_inhibition' in table
  mean = values['MobilenetV2/expanded_conv_12/lateral_inhibition/li_weights'
                ].mean()
  assert '%.4f' % mean in table
  assert 'li_kernels.png' in result.stdout


def test_tool_errors_are_one_line(tmp_path):
  path, _ = _save_checkpoint(str(tmp_path), with_li=False)
  result = subprocess.run(
      [sys.executable, TOOL, '--checkpoint_path', path],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
      timeout=300)
  assert result.returncode == 2
  assert 'holds no lateral-inhibition weights' in result.stderr
  missing = subprocess.run(
      [sys.executable, TOOL, '--checkpoint_path', str(tmp_path / 'nothing')],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
      timeout=300)
  assert missing.returncode == 2 and 'cannot read checkpoint' in missing.stderr


def test_docs_figure_renders_and_li_sharpens_the_edge(tmp_path):
  from tools import make_docs_figures
  before = make_docs_figures.feature_map()
  after = (make_docs_figures.apply_li(before, 0.2, 3, 1.0) /
           make_docs_figures.flat_gain(0.2, 3, 1.0))
  # Flat areas keep their value; the steepest edge gets steeper.
  np.testing.assert_allclose(after[40, 2], before[40, 2], rtol=1e-4)
  assert np.abs(np.diff(after[44])).max() > np.abs(np.diff(before[44])).max()
  path = tmp_path / 'li_method.png'
  make_docs_figures.render(str(path))
  with Image.open(str(path)) as image:
    assert image.format == 'PNG' and image.size[0] > 800
