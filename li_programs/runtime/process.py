"""The programs' process: what is set before TensorFlow starts, and its end.

``prepare`` is called by the programs' launchers (li_programs/commands/
launch.py, the benchmark workers, the TensorFlow Lite conversion process)
before anything imports TensorFlow:

* TensorFlow 2.x imports Keras 3 when it starts (and matplotlib through
  it), a large share of its start-up time and memory (docs/performance.md)
  for a package the programs never use.  With ``TF_USE_LEGACY_KERAS`` set,
  TensorFlow looks for the ``tf_keras`` package instead and, where it is not
  installed, skips the import.  So the variable is set unless the user set
  it, or ``tf_keras`` is installed (the variable would then make it
  ``tf.keras``).  TensorFlow 1.15 ignores it.  Child processes (the
  TensorFlow Lite conversion) inherit it.  It is set only in a program's
  own process: code that imports the project's modules into a Keras script
  (or a test run) keeps ``tf.keras``.

``imports_without_gc`` runs a program's imports with Python's cyclic
garbage collector off.  Importing TensorFlow creates millions of objects,
and every full collection while it does walks all of them: 0.4 s of a 1.7 s
import on TensorFlow 2.21, 0.2 s on 1.15.5 (docs/performance.md).  What the
imports made stays for the whole run, so it is then frozen out of later
collections (``gc.freeze``), which would otherwise walk it while the graph
is built.

``exit_now`` ends an evaluating program without the interpreter's teardown
of TensorFlow, which takes seconds on TensorFlow 2.x.
"""
import atexit
import contextlib
import gc
import importlib.util
import logging
import os
import sys


def prepare():
  """Sets what a program's process needs before TensorFlow is imported."""
  if ('TF_USE_LEGACY_KERAS' not in os.environ and
      importlib.util.find_spec('tf_keras') is None):
    os.environ['TF_USE_LEGACY_KERAS'] = '1'


@contextlib.contextmanager
def imports_without_gc():
  """Cyclic garbage collection off while the block runs; on leaving it,
  the objects that exist are moved out of later collections and collection
  is back on (when it was on before)."""
  was_enabled = gc.isenabled()
  gc.disable()
  try:
    yield
  finally:
    if was_enabled:
      gc.freeze()
      gc.enable()


def exit_now(status):
  """Exits with ``status`` (an int, or None for 0) as ``sys.exit`` would --
  atexit handlers run, logs and standard streams are flushed -- but skips
  freeing the modules' objects one by one: the operating system takes the
  memory back at once.  Call it only when every file is closed."""
  try:
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
  finally:
    os._exit(status or 0)
