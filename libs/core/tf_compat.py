"""One switch that gives TensorFlow 2.x the 1.x behaviour the code expects.

The code base builds graphs and runs them in sessions through
``tensorflow.compat.v1``.  On TensorFlow 2.x that needs v2 behaviour turned
off before anything is built: no eager execution, reference variables (so
graphs and checkpoints match TensorFlow 1.15's), v1 control flow and
``Dimension`` shapes.  Every entry point (``train.py``, ``validate.py``,
``test.py``, the tools that build graphs, the tests' conftest) calls
``use_graph_mode()`` once before building anything; on TensorFlow 1.15 it
changes nothing.  TensorFlow is imported only when it is called, so tools
that load TensorFlow lazily stay quick to import.
"""


def tensorflow_major():
  """The major version of the TensorFlow installed (1 or 2)."""
  import tensorflow.compat.v1 as tf
  return int(tf.version.VERSION.split('.')[0])


def use_graph_mode():
  """Turns TensorFlow 2.x behaviour off (idempotent; a no-op on 1.15).

  The deprecation notice TensorFlow 2.x logs for it is kept out of the
  programs' output.
  """
  # Lazily: importing this module must not load TensorFlow (see above).
  import tensorflow.compat.v1 as tf
  if not tf.executing_eagerly() and not tf.resource_variables_enabled():
    return
  verbosity = tf.logging.get_verbosity()
  tf.logging.set_verbosity(tf.logging.ERROR)
  try:
    tf.disable_v2_behavior()
  finally:
    tf.logging.set_verbosity(verbosity)
