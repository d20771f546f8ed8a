"""The evaluation model converted to TensorFlow Lite (``inference_engine``).

The model is built a second time, in a graph of its own on a placeholder
image, so that the program's graph keeps only the input pipeline; each
``restore`` loads a checkpoint into it, freezes it and converts it.
"""
import sys
import warnings

import tensorflow.compat.v1 as tf

from libs.core import quiet_tf
from li_programs import inference_engine
from li_programs import session_config
from li_programs import train_checkpoints


class ConversionError(ValueError):
  """TensorFlow Lite could not convert the model (one-line message)."""


def _one_line(err):
  lines = [l.strip() for l in str(err).splitlines() if l.strip()]
  return lines[0] if lines else type(err).__name__


class TflitePredictor(object):
  """The evaluation model, converted to TensorFlow Lite per checkpoint.

  Args:
    build_labels: ``fn(images) -> int labels [1, H, W]``: builds the model
      (the same function the session graph uses).
    image_shape, image_dtype: of the images the input pipeline produces.
    num_threads: interpreter threads (None: its default).
    fall_back: when conversion fails, run the model in TensorFlow (with a
      note on stderr) instead of raising ConversionError.
    config: tf.ConfigProto of the session that restores the
      checkpoint and, after a fallback, runs the model (default: this
      machine's, ``session_config.session_config()``).
  """

  def __init__(self, build_labels, image_shape, image_dtype, num_threads=None,
               fall_back=False, note=None, config=None):
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._images = tf.placeholder(image_dtype, image_shape, name='images')
      self._labels = build_labels(self._images)
      self.saver = tf.train.Saver(tf.global_variables())
    self._num_threads = num_threads
    self._fall_back = fall_back
    self._config = config
    self._note = note or (lambda message: sys.stderr.write(message + '\n'))
    self._interpreter = None
    self._session = None  # only when falling back to TensorFlow

  def restore(self, checkpoint, config_file=None):
    """Restores ``checkpoint`` and converts the model with its weights.

    Raises:
      li_programs.checkpoint_check.CheckpointError: unusable checkpoint.
      ConversionError: TensorFlow Lite failed and ``fall_back`` is off.
    """
    self.close()
    session = tf.Session(graph=self._graph,
                         config=self._config or session_config.session_config())
    try:
      # In the graph's context: a TensorFlow 2.x process may be eager
      # (the Predictor API).
      with self._graph.as_default():
        train_checkpoints.restore_checkpoint(session, self.saver, checkpoint,
                                             config_file=config_file)
        self._interpreter = self._convert(session)
    except ConversionError as err:
      if not self._fall_back:
        raise
      self._note('note: %s; the model runs in TensorFlow instead' % err)
      self._session, session = session, None
    finally:
      if session is not None:
        session.close()

  def _convert(self, session):
    converter = tf.lite.TFLiteConverter.from_session(
        session, [self._images], [self._labels])
    try:
      with warnings.catch_warnings(), quiet_tf.quiet_conversion():
        warnings.simplefilter('ignore')
        flatbuffer = converter.convert()
        interpreter_class = inference_engine.interpreter_class()
        interpreter = interpreter_class(model_content=flatbuffer,
                                        num_threads=self._num_threads)
        interpreter.allocate_tensors()
    except Exception as err:  # the converter raises several error types
      raise ConversionError('TensorFlow Lite could not convert the model: %s'
                            % _one_line(err)) from err
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
