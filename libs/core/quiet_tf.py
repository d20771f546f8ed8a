"""Keeps TensorFlow's start-up noise out of the programs' output.

Importing TensorFlow 2.x prints a dozen lines to stderr before any logging
setting can act (absl's "All log messages before absl::InitializeLog()",
oneDNN, CPU instruction and CUDA-driver notices, ``failed call to cuInit``
on machines without a GPU); TensorFlow 1.15 prints CPU and XLA notices and
deprecation warnings.  ``import_tensorflow`` imports it with those lines
filtered: C++ INFO lines are switched off (``TF_CPP_MIN_LOG_LEVEL=1``
unless set), stderr is captured while TensorFlow loads and looks for GPUs
and every captured line but the known notices is passed on, and the Python
deprecation warnings are silenced.  Warnings and errors that are not start-up
notices still show.  With ``LI_CONVS_DEBUG=1`` nothing is filtered.

Entry points call it before their first ``import tensorflow``;
``quiet_conversion`` does the same for the TensorFlow Lite conversion of
each checkpoint.
"""
import contextlib
import os
import re
import sys
import tempfile
import warnings

DEBUG_ENV = 'LI_CONVS_DEBUG'

_NOISE = re.compile('|'.join([
    r'^WARNING: All log messages before absl::InitializeLog\(\)',
    r'^I\d{4} ',                                    # absl INFO lines
    r'^\d{4}-\d\d-\d\d [\d:.]+: I ',                # TF 1.x INFO lines
    r'^To enable the following instructions:',      # continues an INFO line
    r'failed call to cuInit',
    r'Could not find cuda drivers',
    r'Unable to register cu(DNN|FFT|BLAS) factory',
    r'computation placer already registered',
    r'TF-TRT Warning: Could not find TensorRT',
    # TensorFlow Lite conversion (li_programs/evaluate/tflite_predictor.py).
    r'Ignored output_format\.$', r'Ignored drop_control_dependency\.$',
    r'^INFO: Created TensorFlow Lite XNNPACK delegate',
]))


def is_noise(line):
  return bool(_NOISE.search(line))


def filtering():
  """False when ``LI_CONVS_DEBUG`` asks for everything."""
  return os.environ.get(DEBUG_ENV, '') in ('', '0')


@contextlib.contextmanager
def stderr_filtered(keep=sys.stderr):
  """Captures file descriptor 2 inside; afterwards writes the captured
  lines that are not ``is_noise`` to ``keep``."""
  try:
    sys.stderr.flush()
  except (AttributeError, ValueError):
    pass
  saved = os.dup(2)
  with tempfile.TemporaryFile() as capture:
    os.dup2(capture.fileno(), 2)
    try:
      yield
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      capture.seek(0)
      text = capture.read().decode('utf-8', 'replace')
      kept = [line for line in text.splitlines(True) if not is_noise(line)]
      if kept:
        keep.write(''.join(kept))
        keep.flush()


def _silence_python_warnings():
  try:
    from tensorflow.python.util import deprecation
    deprecation._PRINT_DEPRECATION_WARNINGS = False
  except (ImportError, AttributeError):
    pass
  warnings.filterwarnings('ignore', message=r'.*is deprecated and will be '
                          r'removed in a future version')


def import_tensorflow():
  """Imports and returns ``tensorflow.compat.v1``, filtering its start-up
  noise (see the module docstring) unless ``LI_CONVS_DEBUG`` is set or
  TensorFlow is already loaded."""
  if not filtering():
    import tensorflow.compat.v1 as tf
    return tf
  if 'tensorflow' in sys.modules:
    import tensorflow.compat.v1 as tf
    _silence_python_warnings()
    return tf
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')
  with stderr_filtered(sys.stderr):
    import tensorflow.compat.v1 as tf
    _silence_python_warnings()
    # Looking for GPUs loads CUDA (and says so) once per process: now.
    tf.config.experimental.list_physical_devices('GPU')
  return tf


@contextlib.contextmanager
def quiet_conversion():
  """``stderr_filtered`` while filtering is on, else nothing."""
  if filtering():
    with stderr_filtered(sys.stderr):
      yield
  else:
    yield
