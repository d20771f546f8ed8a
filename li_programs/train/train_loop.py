"""The local training loop: session, resume or initialise, steps, checkpoints.

``train_loop`` runs the steps of a ``training_graph.TrainOps`` in one process,
saving checkpoints and summaries on step and/or time triggers and stopping
cleanly on SIGINT/SIGTERM, a NaN/inf loss or one that blew up
(li_programs/train/loss_guard).  ``initialize`` resumes from the train
folder's newest checkpoint, read relative to the folder
(li_programs/checkpoints/checkpoint_state).
"""
import os
import signal
import sys
import time

import tensorflow.compat.v1 as tf

from libs.core import progress
from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_state
from li_programs.train import loss_guard
from li_programs.checkpoints import train_checkpoints
from li_programs.runtime import session_config
from li_programs.runtime import write_errors


class TrainingInterrupted(Exception):
  """Raised inside the loop after SIGINT/SIGTERM, carrying the signal."""

  def __init__(self, signum):
    super(TrainingInterrupted, self).__init__(signum)
    self.signum = signum


def create_session(cfg):
  """The training session (kept apart so distributed runs can swap it).

  Thread pools and XLA follow ``intra_op_threads`` / ``inter_op_threads`` /
  ``xla``; soft placement lets clone devices fall back to the CPU.
  """
  return tf.Session(config=session_config.session_config_from(cfg))


def initialize(sess, ops, train_dir, config_file=None,
               initial_checkpoint=None):
  """Resumes from train_dir's newest checkpoint or initialises anew.

  The checkpoint state is read relative to ``train_dir`` (a moved or
  copied run folder resumes where it is;
  li_programs/checkpoints/checkpoint_state), and the checkpoint must hold
  exactly the model's variables.

  Args:
    config_file: named when the newest checkpoint does not fit the model.
    initial_checkpoint: the checkpoint ``ops.init_fn`` restores from
      (named when it is damaged).
  """
  sess.run([tf.global_variables_initializer(),
            tf.local_variables_initializer()])
  latest = checkpoint_state.latest(train_dir)
  if latest:
    try:
      train_checkpoints.restore_checkpoint(
          sess, ops.saver, latest, tf.global_variables(), config_file,
          strict=True)
    except checkpoint_check.CheckpointMismatch as err:
      raise checkpoint_check.CheckpointMismatch(
          '%s; resume with the options it was trained with, or train into '
          'another folder (snapshot_root or train_logdir)' % err) from err
    checkpoint_state.repair(train_dir)
    # Keep the earlier checkpoints in the state file (and under max_to_keep)
    # instead of starting a fresh list.
    ops.saver.recover_last_checkpoints(
        [p for p in train_checkpoints.list_checkpoints(train_dir)
         if train_checkpoints.checkpoint_exists(p)])
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


class SignalCatcher(object):
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


class _Saver(object):
  """Saves ``model.ckpt-<step>`` with one-line errors for a full or
  unwritable disk (li_programs/runtime/write_errors) that name the last complete
  checkpoint."""

  def __init__(self, sess, saver, train_dir):
    self._sess = sess
    self._saver = saver
    self._train_dir = train_dir
    self.prefix = os.path.join(train_dir, checkpoint_state.CHECKPOINT_BASENAME)

  def exists(self, step):
    return train_checkpoints.checkpoint_exists('%s-%d' % (self.prefix, step))

  def save(self, step):
    write_errors.save_checkpoint(self._saver, self._sess, self.prefix, step,
                                 checkpoint_state.latest(self._train_dir))

  def save_unless_saved(self, step):
    if step > 0 and not self.exists(step):
      self.save(step)
      print('Checkpoint of step %d saved before stopping' % step)


def train_loop(sess, ops, train_dir, num_steps, save_checkpoint_steps,
               save_summaries_steps, log_steps, writer=None, stop=None,
               save_interval_secs=None, save_summaries_secs=None,
               clock=time.time):
  """Runs steps until ``num_steps``; saves, logs and writes summaries.

  As the original's checkpoint saver, ``model.ckpt-<start step>`` is
  written first (when missing), then every ``save_checkpoint_steps`` steps
  and/or ``save_interval_secs`` seconds, and at the last step. Summaries
  follow ``save_summaries_steps`` and/or ``save_summaries_secs`` and are
  also written at the last step, as is the loss line (so even a short run
  leaves its scalars).

  Args:
    stop: optional object whose ``signum`` becomes non-None to ask for a
      checkpoint and a stop (see SignalCatcher).
    clock: time source in seconds (tests pass their own).

  Returns:
    The final global step.

  Raises:
    TrainingInterrupted: after saving, when ``stop.signum`` was set.
    loss_guard.TrainingDivergedError: on a NaN/inf loss, or one grown past
      ``loss_guard.BLOW_UP_FACTOR`` times the first (nothing is saved then:
      the last checkpoint is the last good one).
    write_errors.WriteError: a checkpoint could not be written.
  """
  saver = _Saver(sess, ops.saver, train_dir)
  step = int(sess.run(ops.global_step))
  if not saver.exists(step):
    saver.save(step)
  checkpoint_due = _Every(save_checkpoint_steps, save_interval_secs, clock)
  summaries = _Every(save_summaries_steps, save_summaries_secs, clock)
  log = progress.TrainingProgress(num_steps, step)
  guard = loss_guard.LossGuard()
  while step < num_steps:
    if stop is not None and stop.signum is not None:
      saver.save(step)
      raise TrainingInterrupted(stop.signum)
    want_summary = writer is not None and (summaries.due(step + 1) or
                                           step + 1 >= num_steps)
    fetches = [ops.train_op, ops.global_step]
    if want_summary:
      fetches.append(ops.summary_op)
    try:
      results = sess.run(fetches)
    except tf.errors.OpError:
      # Keep the steps trained so far: an input error stops the run but
      # leaves the variables as they were after the last step.
      saver.save_unless_saved(step)
      raise
    loss, step = float(results[0]), int(results[1])
    guard.check(loss, step)
    if want_summary:
      writer.add_summary(results[2], step)
      summaries.done()
    if log_steps > 0 and (step % log_steps == 0 or step == num_steps):
      print(log.line(step, loss))
      sys.stdout.flush()
    if checkpoint_due.due(step):
      saver.save(step)
      checkpoint_due.done()
  if not saver.exists(step):
    saver.save(step)
  if writer is not None:
    writer.flush()
  return step
