"""A checkpoint of a training graph restores into a fresh evaluation graph."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from li_programs.config import config as config_lib
from tools import graph_manifest

from helpers.paths import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.tf2]
CONFIG = os.path.join(REPO_ROOT, 'config', 'PASCAL_VOC2012',
                      'liMnv2_liAspp.ini')
# LI batch norm and regulariser add variables the restore must also cover.
FLAGS = ['--train_crop_size=65,65', '--eval_crop_size=65,65',
         '--li_with_batch_norm', '--li_with_weight_regularizer']


def _build(mode):
  cfg = config_lib.load_config(CONFIG, mode, FLAGS)
  logits, _, _ = graph_manifest.build_model_graph(cfg, mode)
  return logits


def test_checkpoint_restores_without_missing_or_extra_variables(tmpdir):
  prefix = os.path.join(str(tmpdir), 'model.ckpt')
  train_graph = tf.Graph()
  with train_graph.as_default():
    _build('train')
    li_weights = [v for v in tf.global_variables()
                  if v.op.name.endswith('li_weights')]
    assert len(li_weights) == 6
    # LI weights start at 0 in this config: give them distinct values so
    # their restore is observable (the other weights start random).
    set_li = [v.assign(tf.fill(v.shape, 0.1 * (i + 1)))
              for i, v in enumerate(li_weights)]
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      sess.run(set_li)
      saved = dict(zip([v.op.name for v in tf.global_variables()],
                       sess.run(tf.global_variables())))
      tf.train.Saver().save(sess, prefix, write_meta_graph=False)

  in_checkpoint = set(name for name, _ in tf.train.list_variables(prefix))
  eval_graph = tf.Graph()
  with eval_graph.as_default():
    logits = _build('test')
    in_graph = set(v.op.name for v in tf.global_variables())
    assert in_checkpoint - in_graph == set()
    assert in_graph - in_checkpoint == set()
    images = eval_graph.get_tensor_by_name('images:0')
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, prefix)
      restored = dict(zip([v.op.name for v in tf.global_variables()],
                          sess.run(tf.global_variables())))
      out = sess.run(logits, {images: np.full([1, 65, 65, 3], 127.0,
                                              np.float32)})
  assert sorted(restored) == sorted(saved)
  for name, value in saved.items():
    np.testing.assert_array_equal(restored[name], value, err_msg=name)
  li_values = sorted(float(restored[v.op.name].mean()) for v in li_weights)
  np.testing.assert_allclose(li_values, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                             rtol=1e-6)
  assert out.shape == (1, 65, 65, 21)
  assert np.all(np.isfinite(out))
