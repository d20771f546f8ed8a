"""Distributed training with TensorFlow's runtime: one task of a cluster.

A parameter-server task serves variables until a signal; a worker builds the
training graph with its variables on the parameter servers and steps a
``tf.train.MonitoredTrainingSession`` (the chief initialises or restores the
variables and writes checkpoints and summaries; other workers wait for it).
"""
import os
import sys
import time

import tensorflow.compat.v1 as tf

from libs.core import progress
from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_state
from li_programs.checkpoints import config_match
from li_programs.train import loss_guard
from li_programs.checkpoints import train_checkpoints
from li_programs.distributed import distributed_runtime as distributed
from li_programs.train import random_seed
from li_programs.runtime import session_config
from li_programs.train import training_graph
from li_programs.train.train_loop import SignalCatcher


def run_parameter_server(cfg, plan):
  """A parameter-server task: serves variables until SIGINT/SIGTERM.

  Waits in Python rather than in ``server.join()`` so that a signal ends
  the process cleanly (exit status 0).
  """
  # A parameter server only stores variables: leave the GPUs to workers.
  os.environ['CUDA_VISIBLE_DEVICES'] = ''
  with SignalCatcher() as catcher:
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
    loss_guard.TrainingDivergedError: on a NaN/inf loss or one grown
      past loss_guard.BLOW_UP_FACTOR times the first.
  """
  if global_step_var is None:
    global_step_var = tf.train.get_global_step()
  step = int(sess.run_step_fn(
      lambda step_context: step_context.session.run(global_step_var)))
  last_step = step
  log = progress.TrainingProgress(num_steps, step)
  guard = loss_guard.LossGuard()
  while step < num_steps and not sess.should_stop():
    if stop is not None and stop.signum is not None:
      break
    loss, new_step = sess.run([ops.train_op, ops.global_step])
    loss, new_step = float(loss), int(new_step)
    guard.check(loss, new_step)
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
  save_summaries_steps and/or save_summaries_secs, and once more at the
  end.
  """
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
  chief_hooks.append(distributed.FinalSummaryHook(
      ops.summary_op, train_dir, tf.train.get_global_step()))
  return hooks, chief_hooks


def _scaffold_init_fn(init_fn):
  """initialization.model_init_fn's ``fn(sess)`` as a Scaffold init_fn; the
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
      next_batch, dataset = training_graph.tower_samples(cfg)
      ops = training_graph.build_train_ops(
          cfg, next_batch, dataset.num_of_classes, dataset.ignore_label,
          train_dir, plan=plan)
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
      # The session restores what TensorFlow reads from the state: make it
      # name this folder's checkpoints, and refuse another architecture.
      checkpoint_state.repair(train_dir)
      resume_from = checkpoint_state.latest(train_dir)
      if resume_from:
        checkpoint_check.check_fits(
            resume_from, tf.global_variables(), cfg.config_file,
            suggest=config_match.suggestion, strict=True)
      # Keep earlier checkpoints of a resumed run under max_to_keep.
      ops.saver.recover_last_checkpoints(
          train_checkpoints.list_checkpoints(train_dir))
    else:
      distributed.wait_for_chief(plan, ready_op, config)
    scaffold = tf.train.Scaffold(saver=ops.saver,
                                 init_fn=_scaffold_init_fn(ops.init_fn),
                                 summary_op=ops.summary_op)
    with SignalCatcher() as catcher:
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
      except loss_guard.TrainingDivergedError as err:
        sys.stderr.write('train.py: error: %s\n' % err)
        return 1
  latest = checkpoint_state.latest(train_dir) if plan.is_chief else None
  if catcher.signum is not None:
    if latest:
      print('Interrupted by signal %d at step %d; checkpoint saved to %s'
            % (catcher.signum, train_checkpoints.global_step_of(latest),
               latest))
    else:
      print('Interrupted by signal %d at step %s' % (catcher.signum, step))
    return 128 + catcher.signum
  if plan.is_chief:
    print('Training finished at step %s; checkpoints in %s'
          % (train_checkpoints.global_step_of(latest or ''), train_dir))
  else:
    print('%s finished at global step %s' % (plan.describe(), step))
  return 0
