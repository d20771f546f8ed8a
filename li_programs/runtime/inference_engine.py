"""Which kernels run the evaluation model: TensorFlow's, or TensorFlow Lite's.

test.py and validate.py spend their time in the model, one image at a time.
Under TensorFlow 2.x on CPUs, the TensorFlow Lite interpreter (XNNPACK
kernels, all CPUs) runs it faster than TensorFlow's own kernels, with the
same labels up to float rounding -- once the model has been converted,
which takes seconds per checkpoint (docs/performance.md).

``inference_engine`` (the option of the evaluating programs):

* ``session``: the model runs in the program's TensorFlow graph, fed by the
  input pipeline, as in the original.
* ``tflite``: the model is restored from the checkpoint, frozen and
  converted to TensorFlow Lite in a child process (``tflite_predictor``);
  the evaluation loop feeds it the images the input pipeline produced.
  Needs TensorFlow 2.x.
* ``auto`` (default): ``session`` under TensorFlow 1.15 or with a GPU;
  otherwise ``tflite`` when the split is long enough for the faster images
  to repay the conversion (``choose``, from the table ``COSTS``), else
  ``session``.  If TensorFlow Lite cannot convert a graph, ``auto`` says so
  in one line and runs it in TensorFlow instead.

Kept free of TensorFlow at import, so that the config schema, which lists
the engines, can be read without it.
"""
import collections

from li_models import registry

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


# What one evaluation pass costs under each engine, per backbone family, on
# TensorFlow 2.x with 2 CPUs (wall time; docs/performance.md says how it was
# measured): 'convert_s', the seconds the TensorFlow Lite path takes beyond
# the session's own start (the conversion process, the interpreter, less
# the session graph it spares); 'session_s' and 'tflite_s', the seconds per
# 513x513 image, one scale.  Only their ratios decide, so a faster or
# slower host moves every entry alike.
Costs = collections.namedtuple('Costs', ['convert_s', 'session_s', 'tflite_s'])
COSTS = {'mobilenet': Costs(2.1, 0.041, 0.023),
         'resnet': Costs(3.7, 0.268, 0.217)}
_REFERENCE_PIXELS = 513 * 513

# An evaluation: its number of images (per checkpoint), the backbone, the
# pixels of the eval crop and the passes per image (the eval scales' areas,
# doubled with flipped images).
Workload = collections.namedtuple(
    'Workload', ['images', 'model_variant', 'pixels', 'passes'])


def workload(images, model_variant, crop_size, eval_scales=(1.0,),
             add_flipped_images=False):
  """The Workload of evaluating ``images`` images at ``crop_size``."""
  passes = sum(float(s) ** 2 for s in eval_scales) * (
      2 if add_flipped_images else 1)
  return Workload(int(images), model_variant,
                  int(crop_size[0]) * int(crop_size[1]), passes)


def break_even_images(work):
  """Images from which TensorFlow Lite finishes sooner, conversion
  included (float; inf when it saves nothing per image)."""
  costs = COSTS[registry.backbone(work.model_variant).family]
  scale = work.pixels * work.passes / float(_REFERENCE_PIXELS)
  saving = (costs.session_s - costs.tflite_s) * scale
  return costs.convert_s / saving if saving > 0 else float('inf')


def choose(work):
  """``(engine, why)``: the faster engine for Workload ``work`` where
  TensorFlow Lite can run (``why``: a phrase for the programs' note)."""
  needed = break_even_images(work)
  if work.images >= needed:
    return TFLITE, None
  return SESSION, (
      '%d image%s: the model runs in TensorFlow, as TensorFlow Lite repays '
      'its conversion from about %d images of this model; '
      '--inference_engine=tflite forces it'
      % (work.images, '' if work.images == 1 else 's', round(needed)))


def resolve(requested, work=None):
  """The engine that runs: ``session`` or ``tflite``.

  ``work``: the Workload, for ``auto``'s choice (None: ``tflite`` wherever
  it can run).

  Raises:
    ValueError: an unknown engine, or ``tflite`` where it cannot run.
  """
  return resolve_with_reason(requested, work)[0]


def resolve_with_reason(requested, work=None):
  """``resolve``, and why ``auto`` chose ``session`` where TensorFlow Lite
  could run (None otherwise)."""
  if requested not in ENGINES:
    raise ValueError('inference_engine must be one of %s, got %r'
                     % (', '.join(ENGINES), requested))
  if requested == SESSION:
    return SESSION, None
  reason = tflite_unavailable_reason()
  if requested == TFLITE:
    if reason:
      raise ValueError('inference_engine = tflite: %s; use session or auto'
                       % reason)
    return TFLITE, None
  if reason or _gpu_visible():
    return SESSION, None
  if work is None:
    return TFLITE, None
  return choose(work)


def interpreter_threads(intra_op_threads):
  """The interpreter's threads for the option ``intra_op_threads``."""
  if intra_op_threads is None:
    from li_programs.runtime import session_config
    return session_config.available_cpus()
  return intra_op_threads or None  # 0: the interpreter's own default
