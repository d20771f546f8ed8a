"""Re-estimates the batch-norm statistics of checkpoints from training data.

    python tools/recalibrate_bn.py \\
        --config_file config/demo/liMnv2_liAspp_shapes.ini \\
        [--num_batches 20] [--checkpoint_path CK] [--key value ...]

Why: batch norm keeps moving averages of each layer's batch mean and
variance for evaluation. DeepLab's decay (0.9997 in the head, 0.997 in
MobileNetV2) suits runs of tens of thousands of steps; after the few hundred
steps of a from-scratch CPU run the averages still sit near their initial
values (0 and 1), and the evaluated network predicts one class everywhere
although training went well. This tool runs the network in training mode
over ``--num_batches`` batches of ``train_split`` (the training input
pipeline, ``train_batch_size``, ``train_crop_size``), averages every batch-norm
layer's batch mean and variance ("precise BN"), and writes them into the
checkpoint's ``moving_mean`` / ``moving_variance``. Every other tensor of the
checkpoint (weights, optimiser slots, global step) is kept as it was, so
training can still resume from it.

Without ``--checkpoint_path`` every checkpoint listed in the train folder's
``checkpoint`` state is recalibrated (the folder train.py writes to, so
``--train_logdir`` moves it here too). Other ``--key value`` arguments are
config overrides, as for train.py.
"""
import argparse
import os
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import numpy as np
from libs.core import quiet_tf  # filters TF's start-up noise
tf = quiet_tf.import_tensorflow()

from libs.core import progress
from libs.core import tf_compat
from li_models import model
from li_models import model_config
from li_programs.checkpoints import checkpoint_check
from li_programs.config import cli
from li_programs.train import random_seed
from li_programs.runtime import run_folders
from li_programs.runtime import session_config
from li_programs.checkpoints import train_checkpoints
from li_programs.train import training_graph


_FUSED_TYPES = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')


def _variable_op_name(tensor):
  """Name of the variable behind ``tensor`` (through ``.../read``)."""
  op = tensor.op
  while op.type == 'Identity' and op.inputs:
    op = op.inputs[0].op
  return op.name if op.type in ('VariableV2', 'VarHandleOp') else None


def batch_norm_moments(graph):
  """[(scope, batch_mean, batch_variance)] of the training-mode BN layers.

  The scope is the layer's variable scope (``.../BatchNorm``), found from
  its ``beta`` variable, so it names ``<scope>/moving_mean``.
  """
  found = []
  for op in graph.get_operations():
    if op.type not in _FUSED_TYPES or not op.get_attr('is_training'):
      continue
    beta = _variable_op_name(op.inputs[2])
    if beta is None or not beta.endswith('/beta'):
      scope = op.name.rsplit('/', 1)[0]
    else:
      scope = beta[:-len('/beta')]
    found.append((scope, op.outputs[1], op.outputs[2]))
  return found


def estimate_statistics(sess, moments, num_batches):
  """Averages each layer's batch mean and variance over ``num_batches``."""
  fetches = {scope: (mean, var) for scope, mean, var in moments}
  sums = {}
  for _ in range(num_batches):
    values = sess.run(fetches)
    for scope, (mean, var) in values.items():
      if scope in sums:
        sums[scope][0] += mean
        sums[scope][1] += var
      else:
        sums[scope] = [np.array(mean, np.float64), np.array(var, np.float64)]
  return {scope: (total[0] / num_batches, total[1] / num_batches)
          for scope, total in sums.items()}


def rewrite_checkpoint(checkpoint_path, statistics):
  """Writes ``statistics`` into the checkpoint's moving averages in place.

  Returns:
    The number of batch-norm layers updated.

  Raises:
    ValueError: a layer's moving averages are missing or differ in shape.
  """
  reader = tf.train.load_checkpoint(checkpoint_path)
  shapes = reader.get_variable_to_shape_map()
  replaced = {}
  for scope, (mean, var) in statistics.items():
    for suffix, value in (('moving_mean', mean), ('moving_variance', var)):
      name = '%s/%s' % (scope, suffix)
      if name not in shapes or list(shapes[name]) != list(value.shape):
        raise ValueError('checkpoint %s has no %s of shape %s; does it '
                         'belong to this config?' % (checkpoint_path, name,
                                                     list(value.shape)))
      replaced[name] = value
  dtypes = reader.get_variable_to_dtype_map()
  with tf.Graph().as_default():
    variables = {}
    for name in sorted(shapes):
      value = replaced.get(name)
      if value is None:
        value = reader.get_tensor(name)
      value = np.asarray(value).astype(dtypes[name].as_numpy_dtype)
      variables[name] = tf.Variable(value, name=name.replace(':', '_'),
                                    dtype=dtypes[name])
    saver = tf.train.Saver(variables, write_version=tf.train.SaverDef.V2)
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      saver.save(sess, checkpoint_path, write_meta_graph=False,
                 write_state=False)
  return len(statistics)


def build_statistics_graph(cfg):
  """Training input and the model in training mode; returns the moments."""

  samples, dataset = training_graph.train_samples(cfg)
  options = model_config.model_options_from_config(
      cfg, dataset.num_of_classes, cfg.train_crop_size)
  model.multi_scale_logits(samples['image'], options,
                           image_pyramid=cfg.image_pyramid,
                           weight_decay=cfg.weight_decay, is_training=True,
                           fine_tune_batch_norm=True)
  moments = batch_norm_moments(tf.get_default_graph())
  if not moments:
    raise ValueError('the model of %s has no batch-norm layer to '
                     'recalibrate' % cfg.config_file)
  return moments, tf.train.Saver(tf.model_variables())


def checkpoints_to_recalibrate(cfg, checkpoint_path=None):
  """``[checkpoint_path]``, else every checkpoint listed in the folder
  train.py writes to for ``cfg`` (``--train_logdir`` included).

  Raises:
    CheckpointError: none listed, or a listed one lacks its ``.index`` or
      a data shard.
  """
  if checkpoint_path:
    paths = [checkpoint_path]
  else:
    train_dir = run_folders.program_dirs(cfg).train
    paths = train_checkpoints.list_checkpoints(train_dir)
    if not paths:
      raise checkpoint_check.CheckpointError(
          'no checkpoint listed in %s: train first'
          % os.path.join(train_dir, 'checkpoint'))
  for path in paths:
    checkpoint_check.check_files(path)
  return paths


def main(argv):

  parser = argparse.ArgumentParser(
      prog='recalibrate_bn.py', description=__doc__.split('\n')[0],
      epilog='Other --key value arguments override the config.')
  parser.add_argument('--config_file', required=True)
  parser.add_argument('--num_batches', type=int, default=20,
                      help='training batches averaged (default %(default)s)')
  parser.add_argument('--checkpoint_path', default=None,
                      help='default: every checkpoint of the train folder')
  args, rest = parser.parse_known_args(argv)
  if args.num_batches < 1:
    raise cli.UsageError('--num_batches must be >= 1, got %d'
                         % args.num_batches)
  cfg = cli.load_program_config(
      'train', ['--config_file', args.config_file] + rest)
  paths = checkpoints_to_recalibrate(cfg, args.checkpoint_path)

  with tf.Graph().as_default():
    random_seed.apply_random_seed(cfg.random_seed)
    moments, saver = build_statistics_graph(cfg)
    with tf.Session(config=session_config.session_config_from(cfg)) as sess:
      all_statistics = []
      bar = progress.ProgressBar(len(paths) * args.num_batches,
                                 prefix='batch-norm statistics')
      for path in paths:
        train_checkpoints.restore_checkpoint(sess, saver, path,
                                      tf.model_variables(), cfg.config_file)
        all_statistics.append(estimate_statistics(sess, moments,
                                                  args.num_batches))
        bar.update(args.num_batches)
      bar.close()
  for path, statistics in zip(paths, all_statistics):
    count = rewrite_checkpoint(path, statistics)
    print('%s: batch-norm statistics of %d layers re-estimated from %d '
          'batches of %s' % (path, count, args.num_batches, cfg.train_split))
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(cli.run_program('recalibrate_bn.py', main, sys.argv[1:]))
