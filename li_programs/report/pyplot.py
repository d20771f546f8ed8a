"""matplotlib's pyplot on the Agg backend, imported when first needed.

Importing pyplot takes about a third of a second, which a short
evaluation notices: ``import_in_background`` starts it in a thread while
TensorFlow evaluates the images (the session releases the interpreter
lock), so that the result figures at the end find it imported
(docs/performance.md, Whole runs).
"""
import threading


def pyplot():
  """``matplotlib.pyplot``, with the Agg backend chosen before it loads."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  return plt


def import_in_background():
  """Starts importing pyplot in a daemon thread; returns the thread.

  A later ``pyplot()`` in another thread waits for that import to finish
  (Python's import lock), so nothing sees a half-imported module.
  """
  thread = threading.Thread(target=pyplot, name='import-pyplot', daemon=True)
  thread.start()
  return thread
