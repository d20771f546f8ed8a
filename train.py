"""Trains an LI-Convs / DeepLabv3+ model (SPEC section 5).

    python train.py --config_file config/ADE20K/liMnv2_liAspp.ini [--key value]

Checkpoints and event files go to ``<snapshot_root>/<config_name>/train``.
A run resumes from the newest checkpoint there; Ctrl-C or SIGTERM saves a
checkpoint at the current step before exiting; a NaN/inf loss stops the
run with a message naming the step.
"""

import collections
import os
import signal
import sys
import time

import tensorflow as tf

from li_utils import eval_utils
from li_utils import train_utils

TrainOps = collections.namedtuple(
    'TrainOps', ['train_op', 'total_loss', 'global_step', 'learning_rate',
                 'summary_op', 'init_fn', 'saver'])


class TrainingInterrupted(Exception):
  """Raised inside the loop after SIGINT/SIGTERM, carrying the signal."""

  def __init__(self, signum):
    super(TrainingInterrupted, self).__init__(signum)
    self.signum = signum


def check_clones(train_batch_size, num_clones):
  """train_batch_size must split evenly over the clones."""
  if num_clones < 1:
    raise ValueError('num_clones must be >= 1, got %d' % num_clones)
  if train_batch_size % num_clones:
    raise ValueError('train_batch_size (%d) must be divisible by num_clones '
                     '(%d)' % (train_batch_size, num_clones))


def clone_device(index, clone_on_cpu=False):
  """Clone ``index`` runs on GPU ``index`` (clones share GPUs round-robin
  when there are fewer GPUs than clones), or on the CPU without GPUs or
  with ``clone_on_cpu``."""
  if clone_on_cpu:
    return '/device:CPU:0'
  gpus = tf.config.experimental.list_physical_devices('GPU')
  if gpus:
    return '/device:GPU:%d' % (index % len(gpus))
  return '/device:CPU:0'


def _loss_logits(outputs_to_scales_to_logits, image_pyramid):
  """The logits the loss is taken on: merged logits, plus every scale's
  own logits when there is more than one scale (DeepLab's rule)."""
  scales_to_logits = outputs_to_scales_to_logits['semantic']
  if image_pyramid and len(image_pyramid) > 1:
    return sorted(scales_to_logits.items())
  return [('merged_logits', scales_to_logits['merged_logits'])]


def build_train_ops(cfg, samples, num_classes, ignore_label, train_dir):
  """Builds the towers, the loss, the optimiser step and the summaries.

  Args:
    cfg: loaded config (mode 'train').
    samples: dict with 'image' [B, h, w, 3] and 'label' [B, h, w, 1].
    num_classes, ignore_label: of the dataset.
    train_dir: the run's train folder (decides resume vs init).

  Returns:
    TrainOps.
  """
  from li_models import model
  from li_utils import model_config

  num_clones = cfg.num_clones
  model_options = model_config.model_options_from_config(
      cfg, num_classes, cfg.train_crop_size)
  global_step = tf.train.get_or_create_global_step()

  images = tf.split(samples['image'], num_clones, axis=0)
  labels = tf.split(samples['label'], num_clones, axis=0)
  clone_losses = []
  for i in range(num_clones):
    with tf.name_scope('clone_%d' % i) as clone_scope, \
        tf.device(clone_device(i, cfg.clone_on_cpu)), \
        tf.variable_scope(tf.get_variable_scope(),
                          reuse=True if i > 0 else None):
      outputs = model.multi_scale_logits(
          images[i], model_options, image_pyramid=cfg.image_pyramid,
          weight_decay=cfg.weight_decay, is_training=True,
          fine_tune_batch_norm=cfg.fine_tune_batch_norm)
      for name, logits in _loss_logits(outputs, cfg.image_pyramid):
        train_utils.softmax_cross_entropy_loss(
            logits, labels[i], num_classes, ignore_label,
            upsample_logits=cfg.upsample_logits,
            hard_example_mining_step=cfg.hard_example_mining_step,
            top_k_percent_pixels=cfg.top_k_percent_pixels,
            scope='loss_' + name)
      losses = tf.losses.get_losses(scope=clone_scope)
      clone_loss = tf.add_n(losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.div(clone_loss, float(num_clones))
      if i == 0:
        reg = tf.losses.get_regularization_losses()
        if reg:
          clone_loss = clone_loss + tf.add_n(reg, name='regularization_loss')
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, clone_scope)
        first_clone = (images[0], labels[0],
                       outputs['semantic']['merged_logits'])
      clone_losses.append(clone_loss)
  total_loss = tf.add_n(clone_losses)

  lr = train_utils.learning_rate(
      global_step, cfg.learning_policy, cfg.base_learning_rate,
      cfg.learning_rate_decay_step, cfg.learning_rate_decay_factor,
      cfg.training_number_of_steps, cfg.learning_power, cfg.slow_start_step,
      cfg.slow_start_learning_rate)
  optimizer, lr = train_utils.make_optimizer(
      cfg.optimizer, lr, cfg.momentum, cfg.adam_learning_rate,
      cfg.adam_epsilon)

  train_vars = train_utils.select_trainable_variables(
      tf.trainable_variables(), model.backbone_scope(cfg.model_variant),
      cfg.freeze_backbone_network, cfg.finetune_li_weight_only)
  clone_grads = []
  for i, clone_loss in enumerate(clone_losses):
    with tf.device(clone_device(i, cfg.clone_on_cpu)):
      clone_grads.append(optimizer.compute_gradients(clone_loss,
                                                     var_list=train_vars))
  grads = train_utils.sum_clone_gradients(clone_grads)
  last_layers = model.get_extra_layer_scopes(
      cfg.last_layers_contain_logits_only)
  multipliers = train_utils.gradient_multipliers(
      train_vars, last_layers, cfg.last_layer_gradient_multiplier,
      cfg.li_weight_gradient_multiplier)
  grads = train_utils.multiply_gradients(grads, multipliers)
  apply_op = optimizer.apply_gradients(grads, global_step=global_step)
  with tf.control_dependencies([apply_op] + list(update_ops)):
    train_op = tf.identity(total_loss, name='train_op')

  summary_op = _summaries(total_loss, lr)
  if cfg.save_summaries_images:
    summary_op = tf.summary.merge(
        [summary_op, _image_summaries(num_classes, *first_clone)])
  init_fn = train_utils.model_init_fn(
      train_dir, cfg.tf_initial_checkpoint, cfg.initialize_last_layer,
      last_layers)
  saver = tf.train.Saver(max_to_keep=cfg.max_to_keep)
  return TrainOps(train_op, total_loss, global_step, lr, summary_op, init_fn,
                  saver)


def _summaries(total_loss, lr):
  summaries = [tf.summary.scalar('total_loss', total_loss),
               tf.summary.scalar('learning_rate', lr)]
  for loss in tf.losses.get_losses():
    summaries.append(tf.summary.scalar('losses/' + loss.op.name, loss))
  reg = tf.losses.get_regularization_losses()
  if reg:
    summaries.append(tf.summary.scalar('losses/regularization',
                                       tf.add_n(reg)))
  for var in tf.model_variables():
    summaries.append(tf.summary.histogram(var.op.name, var))
  mean_li = train_utils.mean_li_weight()
  if mean_li is not None:
    summaries.append(tf.summary.scalar('mean_li_weight', mean_li))
  return tf.summary.merge(summaries)


def _image_summaries(num_classes, images, labels, logits):
  """Image, label and prediction of the first clone's batch; class ids
  are spread over 0..255 so they are visible (ignored pixels: white)."""
  scale = 255 // max(num_classes - 1, 1)
  size = tf.shape(images)[1:3]
  logits = tf.image.resize_bilinear(logits, size, align_corners=True)
  prediction = tf.expand_dims(tf.argmax(logits, 3), -1)
  return tf.summary.merge([
      tf.summary.image('samples/image', tf.cast(images, tf.uint8)),
      tf.summary.image('samples/label',
                       tf.cast(tf.minimum(labels * scale, 255), tf.uint8)),
      tf.summary.image('samples/prediction',
                       tf.cast(prediction * scale, tf.uint8))])


def create_session(cfg):
  """The training session (kept apart so distributed runs can swap it).

  Thread pools and XLA follow ``intra_op_threads`` / ``inter_op_threads`` /
  ``xla``; soft placement lets clone devices fall back to the CPU.
  """
  from li_utils import session_config
  return tf.Session(config=session_config.session_config_from(cfg))


def initialize(sess, ops, train_dir):
  """Resumes from train_dir's newest checkpoint or initialises anew."""
  sess.run([tf.global_variables_initializer(),
            tf.local_variables_initializer()])
  latest = tf.train.latest_checkpoint(train_dir)
  if latest:
    ops.saver.restore(sess, latest)
    # Keep the earlier checkpoints in the state file (and under max_to_keep)
    # instead of starting a fresh list.
    ops.saver.recover_last_checkpoints(
        eval_utils.list_checkpoints(train_dir))
    print('Resuming from %s' % latest)
  elif ops.init_fn is not None:
    restored, skipped = ops.init_fn(sess)
    print('Initialised %d variables from the initial checkpoint (%d not '
          'restored)' % (restored, len(skipped)))
  sys.stdout.flush()


class _SignalCatcher(object):
  """Turns SIGINT/SIGTERM into a flag checked between training steps."""

  def __init__(self):
    self.signum = None
    self._previous = {}

  def __enter__(self):
    for signum in (signal.SIGINT, signal.SIGTERM):
      self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def _handle(self, signum, unused_frame):
    self.signum = signum

  def __exit__(self, *exc):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    return False


def train_loop(sess, ops, train_dir, num_steps, save_checkpoint_steps,
               save_summaries_steps, log_steps, writer=None, stop=None):
  """Runs steps until ``num_steps``; saves, logs and writes summaries.

  Args:
    stop: optional object whose ``signum`` becomes non-None to ask for a
      checkpoint and a stop (see _SignalCatcher).

  Returns:
    The final global step.

  Raises:
    TrainingInterrupted: after saving, when ``stop.signum`` was set.
    train_utils.TrainingDivergedError: on a NaN/inf loss.
  """
  prefix = os.path.join(train_dir, 'model.ckpt')
  step = int(sess.run(ops.global_step))
  last_time, last_step = time.time(), step
  while step < num_steps:
    if stop is not None and stop.signum is not None:
      ops.saver.save(sess, prefix, global_step=step)
      raise TrainingInterrupted(stop.signum)
    want_summary = (writer is not None and save_summaries_steps > 0 and
                    (step + 1) % save_summaries_steps == 0)
    fetches = [ops.train_op, ops.global_step]
    if want_summary:
      fetches.append(ops.summary_op)
    results = sess.run(fetches)
    loss, step = float(results[0]), int(results[1])
    train_utils.check_finite_loss(loss, step)
    if want_summary:
      writer.add_summary(results[2], step)
    if log_steps > 0 and (step % log_steps == 0 or step == num_steps):
      now = time.time()
      rate = (step - last_step) / max(now - last_time, 1e-9)
      print('step %d: loss = %.4f (%.2f steps/s)' % (step, loss, rate))
      sys.stdout.flush()
      last_time, last_step = now, step
    if save_checkpoint_steps > 0 and step % save_checkpoint_steps == 0:
      ops.saver.save(sess, prefix, global_step=step)
  if not eval_utils.checkpoint_exists('%s-%d' % (prefix, step)):
    ops.saver.save(sess, prefix, global_step=step)
  return step


def main(argv):
  from libs.datasets import data_generator

  cfg = eval_utils.load_program_config('train', argv)
  check_clones(cfg.train_batch_size, cfg.num_clones)
  dirs = eval_utils.output_dirs(cfg.snapshot_root, cfg.config_name)
  train_dir = dirs.train

  graph = tf.Graph()
  with graph.as_default():
    dataset = data_generator.Dataset(
        dataset_name=cfg.dataset, split_name=cfg.train_split,
        dataset_dir=cfg.dataset_dir, batch_size=cfg.train_batch_size,
        crop_size=cfg.train_crop_size, min_resize_value=cfg.min_resize_value,
        max_resize_value=cfg.max_resize_value,
        resize_factor=cfg.resize_factor,
        min_scale_factor=cfg.min_scale_factor,
        max_scale_factor=cfg.max_scale_factor,
        scale_factor_step_size=cfg.scale_factor_step_size,
        model_variant=cfg.model_variant, is_training=True,
        should_shuffle=True, should_repeat=True)
    with tf.device('/device:CPU:0'):
      samples = dataset.get_one_shot_iterator().get_next()
    ops = build_train_ops(cfg, samples, dataset.num_of_classes,
                          dataset.ignore_label, train_dir)
    os.makedirs(train_dir, exist_ok=True)
    with create_session(cfg) as sess:
      initialize(sess, ops, train_dir)
      writer = tf.summary.FileWriter(train_dir, graph)
      try:
        with _SignalCatcher() as catcher:
          step = train_loop(sess, ops, train_dir,
                            cfg.training_number_of_steps,
                            cfg.save_checkpoint_steps,
                            cfg.save_summaries_steps, cfg.log_steps, writer,
                            catcher)
      except TrainingInterrupted as stop:
        step = int(sess.run(ops.global_step))
        print('Interrupted by signal %d at step %d; checkpoint saved to %s'
              % (stop.signum, step, train_dir))
        return 128 + stop.signum
      except train_utils.TrainingDivergedError as err:
        sys.stderr.write('train.py: error: %s\n' % err)
        return 1
      finally:
        writer.close()
  print('Training finished at step %d; checkpoints in %s' % (step, train_dir))
  return 0


if __name__ == '__main__':
  sys.exit(eval_utils.run_program('train.py', main, sys.argv[1:]))
