"""Which kernels run the evaluation model: TensorFlow's, or TensorFlow Lite's.

test.py and validate.py spend their time in the model, one image at a time.
On this project's 2-core x86 test machine, TensorFlow 2.21's own CPU kernels
ran LI-MNV2 + LI-ASPP at 513x513 in 0.104 s per image and barely used the
second core; the same frozen graph under the TensorFlow Lite interpreter
(XNNPACK kernels, 2 threads) took 0.070 s, and LI-ResNet-50 + LI-ASPP +
decoder 0.645 s against 0.981 s, with every pixel's label the same.

``inference_engine`` (the option of the evaluating programs):

* ``session``: the model runs in the program's TensorFlow graph, fed by the
  input pipeline, as in the original.
* ``tflite``: the model is built a second time in a graph of its own, on a
  placeholder, restored from the checkpoint, frozen and converted to
  TensorFlow Lite; the evaluation loop feeds it the images the input
  pipeline produced.  Needs TensorFlow 2.x.
* ``auto`` (default): ``tflite`` under TensorFlow 2.x when no GPU is
  visible, ``session`` otherwise (TensorFlow 1.15, GPUs).  If TensorFlow Lite
  cannot convert a graph, ``auto`` says so in one line and runs it in
  TensorFlow instead.

Kept free of TensorFlow at import, so that the config schema, which lists
the engines, can be read without it; the converted model itself is
``tflite_predictor.TflitePredictor``.
"""

AUTO = 'auto'
SESSION = 'session'
TFLITE = 'tflite'
ENGINES = (AUTO, SESSION, TFLITE)


def interpreter_class():
  """TensorFlow Lite's Interpreter class, or None where there is none."""
  import tensorflow as tf_root
  interpreter = getattr(getattr(tf_root, 'lite', None), 'Interpreter', None)
  if interpreter is None:
    try:  # TensorFlow Lite's successor package, when installed
      from ai_edge_litert.interpreter import Interpreter as interpreter
    except ImportError:
      return None
  return interpreter


def tflite_unavailable_reason():
  """Why TensorFlow Lite cannot run the model here, or None if it can."""
  import tensorflow.compat.v1 as tf
  from libs.core import tf_compat
  if tf_compat.tensorflow_major() < 2:
    return ('it needs TensorFlow 2.x (XNNPACK kernels); this is TensorFlow '
            '%s' % tf.version.VERSION)
  if interpreter_class() is None:
    return ('TensorFlow %s has no TensorFlow Lite interpreter'
            % tf.version.VERSION)
  return None


def _gpu_visible():
  import tensorflow.compat.v1 as tf
  try:
    return bool(tf.config.experimental.list_physical_devices('GPU'))
  except (AttributeError, RuntimeError):
    return False


def resolve(requested):
  """The engine that runs: ``session`` or ``tflite``.

  Raises:
    ValueError: an unknown engine, or ``tflite`` where it cannot run.
  """
  if requested not in ENGINES:
    raise ValueError('inference_engine must be one of %s, got %r'
                     % (', '.join(ENGINES), requested))
  if requested == SESSION:
    return SESSION
  reason = tflite_unavailable_reason()
  if requested == TFLITE:
    if reason:
      raise ValueError('inference_engine = tflite: %s; use session or auto'
                       % reason)
    return TFLITE
  return SESSION if reason or _gpu_visible() else TFLITE


def interpreter_threads(intra_op_threads):
  """The interpreter's threads for the option ``intra_op_threads``."""
  if intra_op_threads is None:
    from li_programs import session_config
    return session_config.available_cpus()
  return intra_op_threads or None  # 0: the interpreter's own default
