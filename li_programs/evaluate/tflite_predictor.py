"""The evaluation model converted to TensorFlow Lite (``inference_engine``).

Each ``restore`` converts the model with a checkpoint's weights in a child
process (``tflite_convert``), so that the converter's memory never joins the
evaluation's, and maps the flatbuffer it wrote into a TensorFlow Lite
interpreter.  The program's graph keeps only the input pipeline.
"""
import functools
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import tensorflow.compat.v1 as tf

from libs.core import error_text
from libs.core import quiet_tf
from li_programs.checkpoints import checkpoint_check
from li_programs.runtime import inference_engine
from li_programs.runtime import session_config
from li_programs.evaluate import tflite_convert
from li_programs.checkpoints import train_checkpoints

ConversionError = tflite_convert.ConversionError

# Errors the conversion process may report, re-raised here by class name.
_CHILD_ERRORS = {cls.__name__: cls for cls in (
    checkpoint_check.CheckpointError, checkpoint_check.CheckpointGone,
    checkpoint_check.CheckpointDamaged, checkpoint_check.CheckpointMismatch,
    ConversionError)}


def _import_roots(fn):
  """The folders the child process must import from to unpickle ``fn`` (a
  function or a ``functools.partial`` of one) and run this package: the
  root of each module they come from."""
  functions = [fn]
  if isinstance(fn, functools.partial):
    functions = [fn.func] + [v for v in fn.keywords.values()
                             if hasattr(v, '__module__')]
  names = {getattr(f, '__module__', None) for f in functions} | {__name__}
  roots = []
  for name in sorted(n for n in names if n):
    module = sys.modules.get(name)
    path = getattr(module, '__file__', None)
    if not path:
      continue
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(name.count('.')):
      root = os.path.dirname(root)
    if root not in roots:
      roots.append(root)
  return roots


def _picklable(fn):
  try:
    pickle.dumps(fn)
    return True
  except (pickle.PicklingError, AttributeError, TypeError):
    return False


class TflitePredictor(object):
  """The evaluation model, converted to TensorFlow Lite per checkpoint.

  Args:
    build_labels: ``fn(images) -> int labels [1, H, W]``: builds the model
      (the same function the session graph uses).  When it can be pickled
      (a module-level function, or a ``functools.partial`` of one), the
      conversion runs in a child process; otherwise in this one.
    image_shape, image_dtype: of the images the input pipeline produces.
    num_threads: interpreter threads (None: its default).
    fall_back: when conversion fails, run the model in TensorFlow (with a
      note on stderr) instead of raising ConversionError.
    config: tf.ConfigProto of the session that restores the
      checkpoint and, after a fallback, runs the model (default: this
      machine's, ``session_config.session_config()``).
    in_child: False converts in this process even when ``build_labels``
      can be pickled.
  """

  def __init__(self, build_labels, image_shape, image_dtype, num_threads=None,
               fall_back=False, note=None, config=None, in_child=True):
    self._build_labels = build_labels
    self._image_shape = [int(d) for d in image_shape]
    self._image_dtype = tf.as_dtype(image_dtype).name
    self._num_threads = num_threads
    self._fall_back = fall_back
    self._config = config
    self._note = note or (lambda message: sys.stderr.write(message + '\n'))
    self.in_child = in_child and _picklable(build_labels)
    self._graph = None  # the model in TensorFlow, built when needed
    self._interpreter = None
    # Peak memory of the last conversion's process, MiB (None: none ran).
    self.conversion_peak_mib = None
    self._session = None  # only when falling back to TensorFlow

  def _session_config(self):
    return self._config or session_config.session_config()

  def _model_graph(self):
    if self._graph is None:
      self._graph = tf.Graph()
      with self._graph.as_default():
        self._images = tf.placeholder(self._image_dtype, self._image_shape,
                                      name='images')
        self._labels = self._build_labels(self._images)
        self._saver = tf.train.Saver(tf.global_variables())
    return self._graph

  def _restored_session(self, checkpoint, config_file):
    graph = self._model_graph()
    session = tf.Session(graph=graph, config=self._session_config())
    try:
      # In the graph's context: a TensorFlow 2.x process may be eager (the
      # Predictor API).
      with graph.as_default():
        train_checkpoints.restore_checkpoint(session, self._saver, checkpoint,
                                             config_file=config_file)
    except BaseException:
      session.close()
      raise
    return session

  def restore(self, checkpoint, config_file=None):
    """Restores ``checkpoint`` and converts the model with its weights.

    Raises:
      li_programs.checkpoints.checkpoint_check.CheckpointError: unusable
        checkpoint.
      ConversionError: TensorFlow Lite failed and ``fall_back`` is off.
    """
    self.close()
    checkpoint_check.check_files(checkpoint)  # before starting a process
    try:
      self._interpreter = self._convert(checkpoint, config_file)
    except ConversionError as err:
      if not self._fall_back:
        raise
      self._note('note: %s; the model runs in TensorFlow instead' % err)
      self._session = self._restored_session(checkpoint, config_file)

  def _convert(self, checkpoint, config_file):
    """The interpreter of the model with the weights of ``checkpoint``."""
    if not self.in_child:
      session = self._restored_session(checkpoint, config_file)
      try:
        with self._graph.as_default(), quiet_tf.quiet_conversion():
          flatbuffer = tflite_convert.convert_session(
              session, [self._images], [self._labels])
      finally:
        session.close()
      return self._interpreter_of(model_content=flatbuffer)
    work_dir = tempfile.mkdtemp(prefix='li_tflite_')
    try:
      path = self._convert_in_child(work_dir, checkpoint, config_file)
      # The interpreter maps the file: it may go once the interpreter holds
      # it (the mapping stays).
      return self._interpreter_of(model_path=path)
    finally:
      shutil.rmtree(work_dir, ignore_errors=True)

  def _convert_in_child(self, work_dir, checkpoint, config_file):
    """Runs ``tflite_convert`` on ``checkpoint``; returns the model's path."""
    tflite_convert.write_request(
        work_dir, self._build_labels, self._image_shape, self._image_dtype,
        checkpoint, config_file, self._session_config())
    env = dict(os.environ)
    # The child imports the model's modules from where this process did.
    env['PYTHONPATH'] = os.pathsep.join(
        _import_roots(self._build_labels) +
        [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    log_path = os.path.join(work_dir, 'stderr.log')
    with open(log_path, 'w') as log:
      status = subprocess.call(
          [sys.executable, '-m', 'li_programs.evaluate.tflite_convert',
           work_dir],
          stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
    model = os.path.join(work_dir, tflite_convert.MODEL)
    if status == 0 and os.path.isfile(model):
      try:
        with open(os.path.join(work_dir, tflite_convert.STATS)) as f:
          self.conversion_peak_mib = json.load(f)['peak_rss_mib']
      except (IOError, ValueError, KeyError):
        pass
      return model
    error = os.path.join(work_dir, tflite_convert.ERROR)
    if os.path.isfile(error):
      with open(error) as f:
        reported = json.load(f)
      cls = _CHILD_ERRORS.get(reported['type'])
      if cls is not None:
        raise cls(reported['message'])
      raise ConversionError('the TensorFlow Lite conversion failed: %s: %s'
                            % (reported['type'], reported['message']))
    with open(log_path) as f:
      last = [l.strip() for l in f if l.strip()][-1:] or ['no output']
    raise ConversionError('the TensorFlow Lite conversion process ended with '
                          'status %d (%s)' % (status, last[0]))

  def _interpreter_of(self, **model):
    try:
      interpreter = inference_engine.interpreter_class()(
          num_threads=self._num_threads, **model)
      interpreter.allocate_tensors()
    except Exception as err:  # the interpreter raises several error types
      raise ConversionError('TensorFlow Lite could not load the model: %s'
                            % error_text.first_line(err)) from err
    return interpreter

  @property
  def engine(self):
    """What runs the model now: 'tflite', or 'session' after a fallback."""
    return (inference_engine.SESSION if self._session is not None
            else inference_engine.TFLITE)

  def predict(self, images):
    """Int labels ``[1, H, W]`` of one batch of images (numpy)."""
    if self._session is not None:
      return self._session.run(self._labels, {self._images: images})
    if self._interpreter is None:
      raise RuntimeError('TflitePredictor.predict before restore')
    interpreter = self._interpreter
    interpreter.set_tensor(interpreter.get_input_details()[0]['index'],
                           images)
    interpreter.invoke()
    return interpreter.get_tensor(  # a copy, not the interpreter's buffer
        interpreter.get_output_details()[0]['index'])

  def close(self):
    if self._session is not None:
      self._session.close()
      self._session = None
    self._interpreter = None
