"""Stops training whose loss diverged: NaN/inf, or grown far past its start.

A learning rate that is far too high (or of the wrong sign) rarely gives a
NaN at once: the loss first climbs by orders of magnitude while checkpoints
of a ruined model keep being written.  ``LossGuard`` stops such a run at the
first loss above ``BLOW_UP_FACTOR`` times the first loss it saw, as a NaN
does, before the step's checkpoint is written.
"""
import numpy as np

# A loss this many times the run's first loss means the run diverged.
BLOW_UP_FACTOR = 1e6


class TrainingDivergedError(RuntimeError):
  """The loss became NaN or infinite, or grew past the bound."""


def check_finite_loss(loss_value, step):
  """Raises TrainingDivergedError naming the step if the loss is NaN/inf."""
  if not np.isfinite(loss_value):
    raise TrainingDivergedError('loss is %s at step %d; training stopped'
                                % (loss_value, step))


class LossGuard(object):
  """Checks every step's loss: finite, and at most ``factor`` times the
  first loss checked (a first loss of 0 or less sets no bound)."""

  def __init__(self, factor=BLOW_UP_FACTOR):
    self.factor = factor
    self.first = None
    self.first_step = None

  def check(self, loss_value, step):
    """Raises TrainingDivergedError (one line naming the step) when the
    loss diverged."""
    check_finite_loss(loss_value, step)
    if self.first is None:
      self.first, self.first_step = float(loss_value), step
      return
    if self.first > 0 and loss_value > self.factor * self.first:
      raise TrainingDivergedError(
          'loss is %.4g at step %d, over %.0e times its first value %.4g '
          '(step %d): the run diverged (learning rate too high?); training '
          'stopped' % (loss_value, step, self.factor, self.first,
                       self.first_step))
