"""Trains an LI-Convs / DeepLabv3+ model (SPEC section 5).

    python train.py --config_file config/ADE20K/liMnv2_liAspp.ini [--key value]

Checkpoints and event files go to ``<snapshot_root>/<config_name>/train``.
A run resumes from the newest checkpoint there; Ctrl-C or SIGTERM saves a
checkpoint at the current step before exiting; a NaN/inf loss stops the
run with a message naming the step.

Distributed training (TensorFlow's own runtime): give the cluster as
TF_CONFIG or as ``--ps_hosts``, ``--worker_hosts``, ``--job_name``,
``--task`` and start one process per task, e.g. on one machine::

    python train.py --config_file C --ps_hosts=localhost:2222 \
        --worker_hosts=localhost:2223,localhost:2224 --job_name=ps --task=0
    python train.py --config_file C ... --job_name=worker --task=0  # chief
    python train.py --config_file C ... --job_name=worker --task=1

Variables live on the parameter servers; the chief (worker task 0)
initialises or restores them, writes checkpoints and summaries; other
workers wait for it.  Updates are asynchronous unless ``--sync_replicas``
(each step then averages ``num_replicas`` workers' gradients, by default
all of them).  ``runners/train_distributed.sh`` starts a whole cluster on
one machine.  ``--master`` (with ``--task``, ``--num_ps_tasks``,
``--num_replicas``) instead joins servers started elsewhere.
"""

import collections
import os
import signal
import sys
import time

import tensorflow.compat.v1 as tf

from li_utils import cluster as cluster_lib
from li_utils import eval_utils
from li_utils import input_errors
from li_utils import original_notes
from li_utils import progress
from li_utils import random_seed
from li_utils import run_folders
from li_utils import train_utils
from li_utils import training_marker
from libs.core import tf_compat

# sync_optimizer: the tf.train.SyncReplicasOptimizer of a --sync_replicas
# run (None otherwise).
TrainOps = collections.namedtuple(
    'TrainOps', ['train_op', 'total_loss', 'global_step', 'learning_rate',
                 'summary_op', 'init_fn', 'saver', 'sync_optimizer'],
    defaults=(None,))


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
    plan: li_utils.cluster.TrainingPlan of a distributed run, or None.
      With ``sync_replicas`` the optimiser is wrapped in a
      SyncReplicasOptimizer; only the chief reads the initial checkpoint.

  Returns:
    TrainOps. total_loss is the sum of every tower's data loss plus the
    regularisation (the original's printed total loss).
  """
  from li_models import model
  from li_utils import model_config
  from li_utils import towers as towers_lib

  num_clones = cfg.num_clones
  model_options = model_config.model_options_from_config(
      cfg, num_classes, cfg.train_crop_size)
  global_step = tf.train.get_or_create_global_step()

  def tower_fn(batch):
    outputs = model.multi_scale_logits(
        batch['image'], model_options, image_pyramid=cfg.image_pyramid,
        weight_decay=cfg.weight_decay, is_training=True,
        fine_tune_batch_norm=cfg.fine_tune_batch_norm)
    losses = [
        train_utils.softmax_cross_entropy_loss(
            logits, batch['label'], num_classes, ignore_label,
            upsample_logits=cfg.upsample_logits,
            hard_example_mining_step=cfg.hard_example_mining_step,
            top_k_percent_pixels=cfg.top_k_percent_pixels,
            scope='loss_' + name)
        for name, logits in _loss_logits(outputs, cfg.image_pyramid)]
    return losses, outputs['semantic']['merged_logits']

  def device_fn(index):
    return clone_device(index, cfg.clone_on_cpu)

  towers = towers_lib.build_towers(
      num_clones, tower_batch_source(samples, num_clones), tower_fn,
      device_fn)
  total_loss = tf.add_n([t.loss for t in towers])

  lr = train_utils.learning_rate(
      global_step, cfg.learning_policy, cfg.base_learning_rate,
      cfg.learning_rate_decay_step, cfg.learning_rate_decay_factor,
      cfg.training_number_of_steps, cfg.learning_power, cfg.slow_start_step,
      cfg.slow_start_learning_rate, cfg.end_learning_rate)
  optimizer, lr = train_utils.make_optimizer(
      cfg.optimizer, lr, cfg.momentum, cfg.adam_learning_rate,
      cfg.adam_epsilon)
  sync_optimizer = None
  if plan is not None and plan.sync_replicas:
    optimizer = sync_optimizer = tf.train.SyncReplicasOptimizer(
        optimizer, replicas_to_aggregate=plan.replicas_to_aggregate,
        total_num_replicas=plan.num_workers)

  train_vars = train_utils.select_trainable_variables(
      tf.trainable_variables(), model.backbone_scope(cfg.model_variant),
      cfg.freeze_backbone_network, cfg.finetune_li_weight_only)
  grads = towers_lib.tower_gradients(optimizer, towers, train_vars,
                                     device_fn)
  last_layers = model.get_extra_layer_scopes(
      cfg.last_layers_contain_logits_only)
  multipliers = train_utils.gradient_multipliers(
      train_vars, last_layers, cfg.last_layer_gradient_multiplier,
      cfg.li_weight_gradient_multiplier)
  grads = train_utils.multiply_gradients(grads, multipliers)
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
    init_fn = train_utils.model_init_fn(
        train_dir, cfg.tf_initial_checkpoint, cfg.initialize_last_layer,
        last_layers)
  saver = tf.train.Saver(max_to_keep=cfg.max_to_keep)
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


def initialize(sess, ops, train_dir, config_file=None,
               initial_checkpoint=None):
  """Resumes from train_dir's newest checkpoint or initialises anew.

  Args:
    config_file: named when the newest checkpoint does not fit the model.
    initial_checkpoint: the checkpoint ``ops.init_fn`` restores from
      (named when it is damaged).
  """
  from li_utils import checkpoint_check
  sess.run([tf.global_variables_initializer(),
            tf.local_variables_initializer()])
  latest = tf.train.latest_checkpoint(train_dir)
  if latest:
    eval_utils.restore_checkpoint(sess, ops.saver, latest,
                                  tf.global_variables(), config_file)
    # Keep the earlier checkpoints in the state file (and under max_to_keep)
    # instead of starting a fresh list.
    ops.saver.recover_last_checkpoints(
        eval_utils.list_checkpoints(train_dir))
    print('Resuming from %s' % latest)
  elif ops.init_fn is not None:
    try:
      restored, skipped = ops.init_fn(sess)
    except tf.errors.OpError as err:
      raise checkpoint_check.restore_failure(
          initial_checkpoint or 'tf_initial_checkpoint', err) from err
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


class _Every(object):
  """Due every ``steps`` global steps and/or every ``secs`` seconds (a
  value of None or <= 0 switches that trigger off)."""

  def __init__(self, steps, secs, clock):
    self._steps = steps if steps and steps > 0 else None
    self._secs = secs if secs and secs > 0 else None
    self._clock = clock
    self._last = clock()

  def due(self, step):
    by_step = self._steps is not None and step % self._steps == 0
    by_time = (self._secs is not None and
               self._clock() - self._last >= self._secs)
    return by_step or by_time

  def done(self):
    self._last = self._clock()


def _save_unless_saved(sess, saver, prefix, step):
  if step > 0 and not eval_utils.checkpoint_exists('%s-%d' % (prefix, step)):
    saver.save(sess, prefix, global_step=step)
    print('Checkpoint of step %d saved before stopping' % step)


def train_loop(sess, ops, train_dir, num_steps, save_checkpoint_steps,
               save_summaries_steps, log_steps, writer=None, stop=None,
               save_interval_secs=None, save_summaries_secs=None,
               clock=time.time):
  """Runs steps until ``num_steps``; saves, logs and writes summaries.

  As the original's checkpoint saver, ``model.ckpt-<start step>`` is
  written first (when missing), then every ``save_checkpoint_steps`` steps
  and/or ``save_interval_secs`` seconds, and at the last step. Summaries
  follow ``save_summaries_steps`` and/or ``save_summaries_secs``.

  Args:
    stop: optional object whose ``signum`` becomes non-None to ask for a
      checkpoint and a stop (see _SignalCatcher).
    clock: time source in seconds (tests pass their own).

  Returns:
    The final global step.

  Raises:
    TrainingInterrupted: after saving, when ``stop.signum`` was set.
    train_utils.TrainingDivergedError: on a NaN/inf loss.
  """
  prefix = os.path.join(train_dir, 'model.ckpt')
  step = int(sess.run(ops.global_step))
  if not eval_utils.checkpoint_exists('%s-%d' % (prefix, step)):
    ops.saver.save(sess, prefix, global_step=step)
  checkpoints = _Every(save_checkpoint_steps, save_interval_secs, clock)
  summaries = _Every(save_summaries_steps, save_summaries_secs, clock)
  log = progress.TrainingProgress(num_steps, step)
  while step < num_steps:
    if stop is not None and stop.signum is not None:
      ops.saver.save(sess, prefix, global_step=step)
      raise TrainingInterrupted(stop.signum)
    want_summary = writer is not None and summaries.due(step + 1)
    fetches = [ops.train_op, ops.global_step]
    if want_summary:
      fetches.append(ops.summary_op)
    try:
      results = sess.run(fetches)
    except tf.errors.OpError:
      # Keep the steps trained so far: an input error stops the run but
      # leaves the variables as they were after the last step.
      _save_unless_saved(sess, ops.saver, prefix, step)
      raise
    loss, step = float(results[0]), int(results[1])
    train_utils.check_finite_loss(loss, step)
    if want_summary:
      writer.add_summary(results[2], step)
      summaries.done()
    if log_steps > 0 and (step % log_steps == 0 or step == num_steps):
      print(log.line(step, loss))
      sys.stdout.flush()
    if checkpoints.due(step):
      ops.saver.save(sess, prefix, global_step=step)
      checkpoints.done()
  if not eval_utils.checkpoint_exists('%s-%d' % (prefix, step)):
    ops.saver.save(sess, prefix, global_step=step)
  return step


def train_dataset(cfg, batch_size):
  """The training input pipeline (augmented, shuffled, repeated)."""
  from libs.datasets import data_generator
  return data_generator.Dataset(
      dataset_name=cfg.dataset, split_name=cfg.train_split,
      dataset_dir=cfg.dataset_dir, batch_size=batch_size,
      crop_size=cfg.train_crop_size, min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value,
      resize_factor=cfg.resize_factor,
      min_scale_factor=cfg.min_scale_factor,
      max_scale_factor=cfg.max_scale_factor,
      scale_factor_step_size=cfg.scale_factor_step_size,
      model_variant=cfg.model_variant, is_training=True,
      should_shuffle=True, should_repeat=True, seed=cfg.random_seed)


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


def run_parameter_server(cfg, plan):
  """A parameter-server task: serves variables until SIGINT/SIGTERM.

  Waits in Python rather than in ``server.join()`` so that a signal ends
  the process cleanly (exit status 0).
  """
  from li_utils import distributed_training as distributed
  from li_utils import session_config
  # A parameter server only stores variables: leave the GPUs to workers.
  os.environ['CUDA_VISIBLE_DEVICES'] = ''
  with _SignalCatcher() as catcher:
    distributed.start_server(plan, session_config.session_config_from(cfg))
    print('Parameter server %s started; stop it with Ctrl-C or SIGTERM'
          % plan.describe())
    sys.stdout.flush()
    while catcher.signum is None:
      time.sleep(0.2)
  print('Parameter server %s stopped by signal %d'
        % (plan.describe(), catcher.signum))
  return 0


def distributed_train_loop(sess, ops, num_steps, log_steps, stop=None,
                           global_step_var=None):
  """Steps a MonitoredSession until its hooks stop it (global step reached
  ``num_steps``) or ``stop.signum`` is set; prints the loss every
  ``log_steps`` global steps (rates are global steps/s of the cluster:
  other workers move the step too).

  Args:
    ops: TrainOps; ``ops.global_step`` is fetched with ``ops.train_op``.
    global_step_var: the global step variable, read once at the start
      without running the hooks (default: the graph's global step).

  Returns:
    The last global step seen.

  Raises:
    train_utils.TrainingDivergedError: on a NaN/inf loss.
  """
  if global_step_var is None:
    global_step_var = tf.train.get_global_step()
  step = int(sess.run_step_fn(
      lambda step_context: step_context.session.run(global_step_var)))
  last_step = step
  log = progress.TrainingProgress(num_steps, step)
  while step < num_steps and not sess.should_stop():
    if stop is not None and stop.signum is not None:
      break
    loss, new_step = sess.run([ops.train_op, ops.global_step])
    loss, new_step = float(loss), int(new_step)
    train_utils.check_finite_loss(loss, new_step)
    crossed = (log_steps > 0 and
               (new_step // log_steps > last_step // log_steps or
                (new_step >= num_steps > last_step)))
    step = max(step, new_step)
    if crossed:
      print(log.line(new_step, loss))
      sys.stdout.flush()
      last_step = new_step
  return step


def _session_hooks(cfg, plan, ops, train_dir):
  """(hooks of every worker, chief-only hooks) of a distributed run.

  Every worker stops at the last step, runs its part of synchronous
  training and waits for its startup delay; the chief also writes
  checkpoints every save_checkpoint_steps and/or save_interval_secs (and
  at the start and end of its session) and summaries every
  save_summaries_steps and/or save_summaries_secs.
  """
  from li_utils import distributed_training as distributed
  num_steps = cfg.training_number_of_steps
  hooks = [tf.train.StopAtStepHook(last_step=num_steps)]
  if ops.sync_optimizer is not None:
    hooks.append(distributed.SyncReplicasHook(
        ops.sync_optimizer, plan.is_chief, plan.num_workers))
  if plan.startup_delay_steps:
    hooks.append(distributed.StartupDelayHook(
        tf.train.get_global_step(), min(plan.startup_delay_steps, num_steps)))
  if not plan.is_chief:
    return hooks, []
  every = cfg.save_checkpoint_steps
  if every <= 0:  # only the first and the final checkpoint
    every = 2 ** 62
  chief_hooks = [tf.train.CheckpointSaverHook(
      train_dir, save_steps=every, saver=ops.saver,
      checkpoint_basename='model.ckpt')]
  if cfg.save_interval_secs and cfg.save_interval_secs > 0:
    chief_hooks.append(tf.train.CheckpointSaverHook(
        train_dir, save_secs=cfg.save_interval_secs, saver=ops.saver,
        checkpoint_basename='model.ckpt'))
  if cfg.save_summaries_steps > 0:
    chief_hooks.append(tf.train.SummarySaverHook(
        save_steps=cfg.save_summaries_steps, output_dir=train_dir,
        summary_op=ops.summary_op))
  if cfg.save_summaries_secs and cfg.save_summaries_secs > 0:
    chief_hooks.append(tf.train.SummarySaverHook(
        save_secs=cfg.save_summaries_secs, output_dir=train_dir,
        summary_op=ops.summary_op))
  return hooks, chief_hooks


def _scaffold_init_fn(init_fn):
  """train_utils.model_init_fn's ``fn(sess)`` as a Scaffold init_fn; the
  chief runs it only when it does not resume from a checkpoint."""
  if init_fn is None:
    return None

  def scaffold_init_fn(unused_scaffold, session):
    restored, skipped = init_fn(session)
    print('Initialised %d variables from the initial checkpoint (%d not '
          'restored)' % (restored, len(skipped)))
    sys.stdout.flush()

  return scaffold_init_fn


def train_distributed(cfg, plan, train_dir):
  """One worker of a cluster: tf.train.Server, variables on the parameter
  servers, tf.train.MonitoredTrainingSession with the chief/worker roles.

  Returns:
    The process exit status.
  """
  from li_utils import distributed_training as distributed
  from li_utils import session_config

  base_config = session_config.session_config_from(cfg)
  distributed.probe_parameter_servers(plan)
  if plan.cluster is not None:
    server = distributed.start_server(plan, base_config)
    plan = plan._replace(target=server.target)
  config = distributed.session_config(plan, base_config)
  num_steps = cfg.training_number_of_steps
  print('Distributed training: %s of %d worker(s), %d parameter server(s), '
        '%s updates%s' % (plan.describe(), plan.num_workers,
                          plan.num_ps_tasks,
                          'synchronous' if plan.sync_replicas else
                          'asynchronous', ', chief' if plan.is_chief else ''))
  sys.stdout.flush()

  graph = tf.Graph()
  with graph.as_default():
    random_seed.apply_random_seed(cfg.random_seed)
    with distributed.device_scope(plan):
      next_batch, dataset = tower_samples(cfg)
      ops = build_train_ops(cfg, next_batch, dataset.num_of_classes,
                            dataset.ignore_label, train_dir, plan=plan)
      # Other workers move the global step too: read it after this
      # worker's update, not concurrently with it.
      with tf.control_dependencies([ops.train_op]):
        step_after_update = tf.identity(ops.global_step)
      ops = ops._replace(global_step=step_after_update)
      if not plan.is_chief:
        ready_op = tf.report_uninitialized_variables(tf.global_variables())
    hooks, chief_hooks = _session_hooks(cfg, plan, ops, train_dir)
    if plan.is_chief:
      os.makedirs(train_dir, exist_ok=True)
      # Keep earlier checkpoints of a resumed run under max_to_keep.
      ops.saver.recover_last_checkpoints(
          eval_utils.list_checkpoints(train_dir))
    else:
      distributed.wait_for_chief(plan, ready_op, config)
    scaffold = tf.train.Scaffold(saver=ops.saver,
                                 init_fn=_scaffold_init_fn(ops.init_fn),
                                 summary_op=ops.summary_op)
    with _SignalCatcher() as catcher:
      try:
        with tf.train.MonitoredTrainingSession(
            master=plan.target, is_chief=plan.is_chief,
            checkpoint_dir=train_dir if plan.is_chief else None,
            scaffold=scaffold, hooks=hooks, chief_only_hooks=chief_hooks,
            save_checkpoint_secs=None, save_checkpoint_steps=None,
            save_summaries_steps=None, save_summaries_secs=None,
            log_step_count_steps=None, config=config,
            stop_grace_period_secs=5,
            max_wait_secs=plan.timeout_secs) as sess:
          step = distributed_train_loop(sess, ops, num_steps, cfg.log_steps,
                                        catcher, tf.train.get_global_step())
      except train_utils.TrainingDivergedError as err:
        sys.stderr.write('train.py: error: %s\n' % err)
        return 1
  latest = tf.train.latest_checkpoint(train_dir) if plan.is_chief else None
  if catcher.signum is not None:
    if latest:
      print('Interrupted by signal %d at step %d; checkpoint saved to %s'
            % (catcher.signum, eval_utils.global_step_of(latest), latest))
    else:
      print('Interrupted by signal %d at step %s' % (catcher.signum, step))
    return 128 + catcher.signum
  if plan.is_chief:
    print('Training finished at step %s; checkpoints in %s'
          % (eval_utils.global_step_of(latest or ''), train_dir))
  else:
    print('%s finished at global step %s' % (plan.describe(), step))
  return 0


def main(argv):
  cfg = eval_utils.load_program_config('train', argv)
  check_clones(cfg.train_batch_size, cfg.num_clones)
  original_notes.print_notes('train.py', cfg)
  if cfg.display_warning:
    tf.logging.set_verbosity(tf.logging.INFO)
  plan = cluster_lib.training_plan(cfg)
  if plan.is_ps:
    return run_parameter_server(cfg, plan)
  train_dir = run_folders.program_dirs(cfg).train
  if plan.is_distributed and not plan.is_chief:
    return train_distributed(cfg, plan, train_dir)
  # Only the chief (or the one local trainer) writes the train folder.
  with training_marker.TrainingMarker(train_dir):
    if plan.is_distributed:
      return train_distributed(cfg, plan, train_dir)
    return train_locally(cfg, train_dir)


def train_locally(cfg, train_dir):
  """One process, ``num_clones`` towers; returns the exit status."""
  graph = tf.Graph()
  with graph.as_default():
    random_seed.apply_random_seed(cfg.random_seed)
    next_batch, dataset = tower_samples(cfg)
    ops = build_train_ops(cfg, next_batch, dataset.num_of_classes,
                          dataset.ignore_label, train_dir)
    os.makedirs(train_dir, exist_ok=True)
    with create_session(cfg) as sess:
      initialize(sess, ops, train_dir, cfg.config_file,
                 cfg.tf_initial_checkpoint)
      writer = tf.summary.FileWriter(train_dir, graph)
      try:
        with _SignalCatcher() as catcher:
          step = train_loop(sess, ops, train_dir,
                            cfg.training_number_of_steps,
                            cfg.save_checkpoint_steps,
                            cfg.save_summaries_steps, cfg.log_steps, writer,
                            catcher, cfg.save_interval_secs,
                            cfg.save_summaries_secs)
      except TrainingInterrupted as stop:
        step = int(sess.run(ops.global_step))
        print('Interrupted by signal %d at step %d; checkpoint saved to %s'
              % (stop.signum, step, train_dir))
        return 128 + stop.signum
      except train_utils.TrainingDivergedError as err:
        sys.stderr.write('train.py: error: %s\n' % err)
        return 1
      except tf.errors.OpError as err:
        explained = input_errors.from_pipeline_error(err, dataset.files)
        if explained is None:
          raise
        raise explained from err
      finally:
        writer.close()
  print('Training finished at step %d; checkpoints in %s' % (step, train_dir))
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(eval_utils.run_program('train.py', main, sys.argv[1:]))
