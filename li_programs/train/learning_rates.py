"""The learning-rate schedules (`learning_policy`): poly and step, with
slow start.
"""
import tensorflow.compat.v1 as tf



LEARNING_POLICIES = ('poly', 'step')


def learning_rate(global_step, learning_policy='poly', base_learning_rate=0.01,
                  learning_rate_decay_step=2000,
                  learning_rate_decay_factor=0.1, training_number_of_steps=1,
                  learning_power=0.9, slow_start_step=0,
                  slow_start_learning_rate=1e-4, end_learning_rate=0.0):
  """SGD learning rate: ``poly`` or ``step`` decay with optional slow start.

  poly: ``(base - end) * (1 - step / training_number_of_steps) **
  learning_power + end`` (reaching ``end_learning_rate``, 0 in the
  original, at the last step); step: ``base * factor ** floor(step /
  decay_step)``. For ``step < slow_start_step`` the rate is
  ``slow_start_learning_rate``.
  """
  if learning_policy not in LEARNING_POLICIES:
    raise ValueError('learning_policy must be one of %s, got %r'
                     % ('/'.join(LEARNING_POLICIES), learning_policy))
  step = tf.cast(global_step, tf.int64)
  if learning_policy == 'poly':
    if training_number_of_steps <= 0:
      raise ValueError('training_number_of_steps must be > 0 for the poly '
                       'policy, got %r' % (training_number_of_steps,))
    lr = tf.train.polynomial_decay(
        base_learning_rate, step, training_number_of_steps,
        end_learning_rate=end_learning_rate, power=learning_power)
  else:
    if learning_rate_decay_step <= 0:
      raise ValueError('learning_rate_decay_step must be > 0, got %r'
                       % (learning_rate_decay_step,))
    lr = tf.train.exponential_decay(
        base_learning_rate, step, learning_rate_decay_step,
        learning_rate_decay_factor, staircase=True)
  if slow_start_step and slow_start_step > 0:
    lr = tf.where(step < slow_start_step,
                  tf.constant(slow_start_learning_rate, lr.dtype), lr)
  return lr
