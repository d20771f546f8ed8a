"""The training graph: input pipeline, towers, loss, optimiser step, summaries.

``build_train_ops`` turns a loaded ``train`` config into ``TrainOps``; the
local loop (``train_loop``) and the distributed path (``distributed_train``)
run them.  ``benchmarks/`` and ``tools/recalibrate_bn.py`` build the
same graph from here.
"""
import collections

import tensorflow.compat.v1 as tf

from libs.datasets import data_generator
from li_models import model
from li_models import model_config
from li_models import registry
from li_programs.config import dataset_info
from li_programs.train import towers as towers_lib
from li_programs.train import initialization
from li_programs.train import learning_rates
from li_programs.train import losses
from li_programs.train import multipliers
from li_programs.train import optimizers

# sync_optimizer: the tf.train.SyncReplicasOptimizer of a --sync_replicas
# run (None otherwise).
TrainOps = collections.namedtuple(
    'TrainOps', ['train_op', 'total_loss', 'global_step', 'learning_rate',
                 'summary_op', 'init_fn', 'saver', 'sync_optimizer'],
    defaults=(None,))


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


def tower_batch_source(samples, num_clones):
  """``fn(index)`` giving tower ``index`` its batch.

  Args:
    samples: a callable returning one tower's batch dict each time it is
      called (each tower then draws its own batch, as the original), or a
      dict holding the whole step's batch, split evenly over the towers.
  """
  if callable(samples):
    return lambda unused_index: samples()
  images = tf.split(samples['image'], num_clones, axis=0)
  labels = tf.split(samples['label'], num_clones, axis=0)
  return lambda index: {'image': images[index], 'label': labels[index]}


def build_train_ops(cfg, samples, num_classes, ignore_label, train_dir,
                    plan=None):
  """Builds the towers, the loss, the optimiser step and the summaries.

  Args:
    cfg: loaded config (mode 'train').
    samples: a callable returning one tower's batch, or a dict with the
      whole step's 'image' [B, h, w, 3] and 'label' [B, h, w, 1] (see
      tower_batch_source).
    num_classes, ignore_label: of the dataset.
    train_dir: the run's train folder (decides resume vs init).
    plan: li_programs.distributed.cluster.TrainingPlan of a distributed run,
      or None.  With ``sync_replicas`` the optimiser is wrapped in a
      SyncReplicasOptimizer; only the chief reads the initial checkpoint.

  Returns:
    TrainOps. total_loss is the sum of every tower's data loss plus the
    regularisation (the original's printed total loss).
  """
  num_clones = cfg.num_clones
  model_options = model_config.model_options_from_config(
      cfg, num_classes, cfg.train_crop_size)
  global_step = tf.train.get_or_create_global_step()

  def tower_fn(batch):
    outputs = model.multi_scale_logits(
        batch['image'], model_options, image_pyramid=cfg.image_pyramid,
        weight_decay=cfg.weight_decay, is_training=True,
        fine_tune_batch_norm=cfg.fine_tune_batch_norm)
    data_losses = [
        losses.softmax_cross_entropy_loss(
            logits, batch['label'], num_classes, ignore_label,
            upsample_logits=cfg.upsample_logits,
            hard_example_mining_step=cfg.hard_example_mining_step,
            top_k_percent_pixels=cfg.top_k_percent_pixels,
            scope='loss_' + name, op_graph=cfg.op_graph)
        for name, logits in _loss_logits(outputs, cfg.image_pyramid)]
    return data_losses, outputs['semantic']['merged_logits']

  def device_fn(index):
    return clone_device(index, cfg.clone_on_cpu)

  towers = towers_lib.build_towers(
      num_clones, tower_batch_source(samples, num_clones), tower_fn,
      device_fn)
  total_loss = tf.add_n([t.loss for t in towers])

  lr = learning_rates.learning_rate(
      global_step, cfg.learning_policy, cfg.base_learning_rate,
      cfg.learning_rate_decay_step, cfg.learning_rate_decay_factor,
      cfg.training_number_of_steps, cfg.learning_power, cfg.slow_start_step,
      cfg.slow_start_learning_rate, cfg.end_learning_rate)
  optimizer, lr = optimizers.make_optimizer(
      cfg.optimizer, lr, cfg.momentum, cfg.adam_learning_rate,
      cfg.adam_epsilon)
  sync_optimizer = None
  if plan is not None and plan.sync_replicas:
    optimizer = sync_optimizer = tf.train.SyncReplicasOptimizer(
        optimizer, replicas_to_aggregate=plan.replicas_to_aggregate,
        total_num_replicas=plan.num_workers)

  train_vars = multipliers.select_trainable_variables(
      tf.trainable_variables(), model.backbone_scope(cfg.model_variant),
      cfg.freeze_backbone_network, cfg.finetune_li_weight_only)
  grads = towers_lib.tower_gradients(optimizer, towers, train_vars,
                                     device_fn)
  last_layers = model.get_extra_layer_scopes(
      cfg.last_layers_contain_logits_only)
  grad_multipliers = multipliers.gradient_multipliers(
      train_vars, last_layers, cfg.last_layer_gradient_multiplier,
      cfg.li_weight_gradient_multiplier)
  grads = multipliers.multiply_gradients(grads, grad_multipliers)
  apply_op = optimizer.apply_gradients(grads, global_step=global_step)
  update_ops = towers_lib.all_update_ops()
  with tf.control_dependencies([apply_op] + list(update_ops)):
    train_op = tf.identity(total_loss, name='train_op')

  summary_op = _summaries(total_loss, lr)
  if cfg.save_summaries_images:
    first = towers[0]
    summary_op = tf.summary.merge(
        [summary_op, _image_summaries(num_classes, first.batch['image'],
                                      first.batch['label'], first.outputs)])
  init_fn = None
  if plan is None or plan.is_chief:
    init_fn = initialization.model_init_fn(
        train_dir, cfg.tf_initial_checkpoint, cfg.initialize_last_layer,
        last_layers)
  # File names, not paths, in the state: the run folder may move.
  saver = tf.train.Saver(max_to_keep=cfg.max_to_keep,
                         save_relative_paths=True)
  return TrainOps(train_op, total_loss, global_step, lr, summary_op, init_fn,
                  saver, sync_optimizer)


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
  mean_li = multipliers.mean_li_weight()
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


# Training reads this many TFRecord files at a time, in turn, as the
# original (``num_readers = 2``): records of two shards reach the shuffle
# buffer interleaved.
TRAIN_NUM_READERS = 2


def train_dataset(cfg, batch_size):
  """The training input pipeline (augmented, shuffled, repeated)."""
  return data_generator.Dataset(
      dataset_name=cfg.dataset, split_name=cfg.train_split,
      dataset_dir=cfg.dataset_dir, batch_size=batch_size,
      crop_size=cfg.train_crop_size, min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value,
      resize_factor=cfg.resize_factor,
      min_scale_factor=cfg.min_scale_factor,
      max_scale_factor=cfg.max_scale_factor,
      scale_factor_step_size=cfg.scale_factor_step_size,
      normalisation=registry.backbone(cfg.model_variant).normalisation,
      num_readers=TRAIN_NUM_READERS, is_training=True,
      should_shuffle=True, should_repeat=True, seed=cfg.random_seed,
      descriptor=dataset_info.descriptor_of(cfg))


def train_samples(cfg):
  """One batch of ``train_batch_size`` training samples; returns
  ``(samples, dataset)``."""
  dataset = train_dataset(cfg, cfg.train_batch_size)
  with tf.device('/device:CPU:0'):
    samples = dataset.get_one_shot_iterator().get_next()
  return samples, dataset


def tower_samples(cfg):
  """The towers' input: ``(next_batch, dataset)``; every call of
  ``next_batch()`` draws ``train_batch_size / num_clones`` samples from the
  one iterator, so each tower trains on its own images."""
  check_clones(cfg.train_batch_size, cfg.num_clones)
  dataset = train_dataset(cfg, cfg.train_batch_size // cfg.num_clones)
  with tf.device('/device:CPU:0'):
    iterator = dataset.get_one_shot_iterator()

  def next_batch():
    with tf.device('/device:CPU:0'):
      return iterator.get_next()

  return next_batch, dataset
