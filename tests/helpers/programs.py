"""Shared helpers of the tests/test_programs_*.py files (holds no tests).

Builds the tiny synthetic dataset, writes tiny configs and loads the three
programs by path (a module named ``test`` would clash with the stdlib).
"""

import importlib
import os
import signal
import subprocess
import sys

from helpers.paths import REPO_ROOT  # noqa: F401  (tests use h.REPO_ROOT)


NUM_TRAIN = 4
NUM_VAL = 4
SIZE = 65

TINY_CONFIG = """\
[data]
dataset = synthetic_shapes
dataset_dir = {dataset_dir}
train_split = train
val_split = val
test_split = val
snapshot_root = {snapshot_root}

[model]
model_variant = li_mobilenet_v2
dpn_variant = li_aspp   ; the LI-ASPP
add_image_level_feature = True

[lateral_inhibition]
li_zones_dpn = 3,3,3
li_weight_initilizer_min_max_dpn = 0.0,0.15
li_backbone_option_mnv2 = e
li_location_for_expanded_conv = after_expansion   ; as the published configs

[train]
num_clones = 2
train_batch_size = 2
training_number_of_steps = 4
train_crop_size = 65,65
atrous_rates = 6,12,18
output_stride = 16
base_learning_rate = 0.01
min_scale_factor = 0.75
max_scale_factor = 1.25
scale_factor_step_size = 0.25
save_checkpoint_steps = 2
save_summaries_steps = 1000
max_to_keep = 20
log_steps = 1

[val]
eval_crop_size = 65,65
atrous_rates = 6,12,18

[test]
eval_crop_size = 65,65
atrous_rates = 6,12,18
"""


def load_program(name):
  """The module of train.py / validate.py / test.py / predict.py
  (li_programs/commands/<name>.py: ``main(argv)``, ``run(argv)``)."""
  return importlib.import_module('li_programs.commands.' + name)


def sigterm_when(args, stop, cwd=None):
  """Runs ``python -u ARGS...``, sends SIGTERM at the first output line for
  which ``stop(line)`` is true; returns (exit status, whole output)."""
  proc = subprocess.Popen([sys.executable, '-u'] + list(args), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
  lines = []
  try:
    for line in proc.stdout:
      lines.append(line)
      if stop(line):
        proc.send_signal(signal.SIGTERM)
        break
    rest, _ = proc.communicate(timeout=240)
  finally:
    if proc.poll() is None:
      proc.kill()
  return proc.returncode, ''.join(lines) + rest


def build_synthetic(root):
  """Writes the raw synthetic set and its TFRecords under ``root``.

  Returns:
    (tfrecord_dir, raw_dir).
  """
  from dataset_generation import build_voc2012_data
  from dataset_generation import make_synthetic_shapes

  raw = os.path.join(root, 'raw')
  records = os.path.join(root, 'tfrecord')
  make_synthetic_shapes.write_dataset(raw, NUM_TRAIN, NUM_VAL, SIZE, SIZE,
                                      seed=3)
  status = build_voc2012_data.main([
      '--image_folder', os.path.join(raw, 'JPEGImages'),
      '--semantic_segmentation_folder', os.path.join(raw, 'SegmentationClass'),
      '--list_folder', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--output_dir', records, '--num_shards', '1'])
  assert not status
  return records, raw


def write_config(path, dataset_dir, snapshot_root, text=TINY_CONFIG):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    f.write(text.format(dataset_dir=dataset_dir, snapshot_root=snapshot_root))
  return path


def synthetic_setup(root):
  """The synthetic dataset built under ``root`` and a tiny config over it
  (``root/cfg/tiny.ini``, snapshots in ``root/snap``).

  Returns:
    ``(records, raw, config)``: the TFRecord and raw VOC-style folders and
    the config path.
  """
  records, raw = build_synthetic(root)
  config = write_config(os.path.join(root, 'cfg', 'tiny.ini'), records,
                        os.path.join(root, 'snap'))
  return records, raw, config


def tiny_config(tmp_path):
  """A tiny config whose dataset folder exists (no records needed): the
  ``config`` fixture of tests/conftest.py."""
  data = tmp_path / 'data'
  data.mkdir()
  return write_config(str(tmp_path / 'c' / 'tiny.ini'), str(data),
                      str(tmp_path / 'snap'))


def toy_train_ops(nan_from_step=10 ** 6):
  """TrainOps of a one-variable graph whose loss turns NaN at a step.

  Each run of ``train_op`` increments the global step, so the training loops
  can be tested for logging, stopping and NaN handling in milliseconds.
  """
  import numpy as np
  import tensorflow.compat.v1 as tf
  from li_programs.train import training_graph
  step = tf.train.get_or_create_global_step()
  w = tf.get_variable('w', [], initializer=tf.ones_initializer())
  increment = tf.assign_add(step, 1)
  with tf.control_dependencies([increment]):
    loss = tf.where(step >= nan_from_step, tf.constant(np.nan), w * 1.0)
  return training_graph.TrainOps(loss, loss, step, tf.constant(0.1),
                                 tf.summary.scalar('w', w), None,
                                 tf.train.Saver())


def save_model_checkpoint(config_file, prefix, flags=(), global_step=None,
                          seed=0):
  """Saves the evaluation model of ``config_file`` (+ ``flags``) with seeded
  random weights at ``prefix`` (``prefix-<global_step>`` when given) without
  training; returns the checkpoint path."""
  import tensorflow.compat.v1 as tf
  from li_models import model
  from li_programs.config import config as config_lib
  from li_programs.config import dataset_info
  from li_models import model_config

  cfg = config_lib.load_config(config_file, 'test', list(flags), notify=None)
  num_classes = dataset_info.descriptor_of(cfg).num_classes
  crop = list(cfg.eval_crop_size)
  options = model_config.model_options_from_config(cfg, num_classes, crop)
  os.makedirs(os.path.dirname(prefix), exist_ok=True)
  with tf.Graph().as_default():
    tf.set_random_seed(seed)
    images = tf.placeholder(tf.float32, [1] + crop + [3])
    model.predict_labels(images, options)
    saver = tf.train.Saver(max_to_keep=None)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      return saver.save(sess, prefix, global_step=global_step,
                        write_meta_graph=False, write_state=False)


def spread_logits(checkpoint, gain=20.0):
  """Rewrites the logits weights of a randomly initialised ``checkpoint``
  so that its labels vary over the image: each class's weights lose their
  mean over the input channels (which, on the non-negative features of a
  random network, hands every pixel to one class) and grow by ``gain``."""
  import numpy as np
  import tensorflow.compat.v1 as tf
  reader = tf.train.load_checkpoint(checkpoint)
  dtypes = reader.get_variable_to_dtype_map()
  with tf.Graph().as_default():
    variables = {}
    for name in sorted(reader.get_variable_to_shape_map()):
      value = reader.get_tensor(name)
      if name.startswith('logits/') and name.endswith('/weights'):
        value = gain * (value - value.mean(axis=2, keepdims=True))
      variables[name] = tf.Variable(np.asarray(value), name=name,
                                    dtype=dtypes[name])
    saver = tf.train.Saver(variables)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, checkpoint, write_meta_graph=False, write_state=False)
  return checkpoint
