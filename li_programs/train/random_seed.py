"""One seed for every random number generator a training run draws from.

``random_seed`` (config key and flag) fixes Python's ``random``, numpy's
global generator and the graph-level seed of the TensorFlow graph being
built; every random op (initialisers, dropout, the augmentation inside the
input pipeline) then takes its seed from the graph's, and the input
pipeline's shuffle is seeded with the same value.  On the same machine,
software and thread settings, two runs with one seed repeat each other.
"""
import random

import numpy as np
import tensorflow.compat.v1 as tf


def apply_random_seed(seed):
  """Seeds Python, numpy and the current default TensorFlow graph.

  Call it inside ``graph.as_default()`` before building any op.  ``None``
  leaves everything unseeded (each run differs).

  Returns:
    ``seed``, for the input pipeline's shuffle.
  """
  if seed is None:
    return None
  seed = int(seed)
  if seed < 0:
    raise ValueError('random_seed must be >= 0, got %d' % seed)
  random.seed(seed)
  np.random.seed(seed % 2 ** 32)
  tf.set_random_seed(seed)
  return seed
