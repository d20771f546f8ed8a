"""The optimisers (`optimizer`): SGD with momentum, or Adam.
"""
import tensorflow.compat.v1 as tf



OPTIMIZERS = ('sgd', 'adam')


def make_optimizer(optimizer='sgd', learning_rate_tensor=None, momentum=0.9,
                   adam_learning_rate=1e-3, adam_epsilon=1e-8):
  """Returns ``(optimizer, learning_rate)``.

  ``sgd`` is momentum SGD on ``learning_rate_tensor``; ``adam`` uses the
  constant ``adam_learning_rate``.
  """
  if optimizer == 'sgd':
    if learning_rate_tensor is None:
      raise ValueError('sgd needs a learning rate tensor')
    return (tf.train.MomentumOptimizer(learning_rate_tensor, momentum),
            learning_rate_tensor)
  if optimizer == 'adam':
    lr = tf.constant(adam_learning_rate, tf.float32)
    return tf.train.AdamOptimizer(lr, epsilon=adam_epsilon), lr
  raise ValueError('optimizer must be one of %s, got %r'
                   % ('/'.join(OPTIMIZERS), optimizer))
