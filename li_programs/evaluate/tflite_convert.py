"""Converting the evaluation model to TensorFlow Lite, in a process of its own.

TensorFlow's converter holds several copies of the weights at once (the
restored variables, the frozen graph, its MLIR form, the folded constants,
the flatbuffer), and the memory it frees stays with the process.  Run in
the evaluating process, that peak and what it leaves behind would stay for
the whole evaluation.  So ``TflitePredictor`` runs the conversion here, in a
child process:

    python -m li_programs.evaluate.tflite_convert WORK_DIR

``WORK_DIR/request.pickle`` names the model (``build_labels``, a picklable
function of the image placeholder), the image shape and type, the
checkpoint and the session settings; the child builds the model, restores
the checkpoint, freezes and converts it and writes ``WORK_DIR/model.tflite``
-- or, when something fails, ``WORK_DIR/error.json`` (the exception's class
and its one-line message), and exits with status 3 -- and its peak memory
to ``WORK_DIR/stats.json``.  The parent then maps the flatbuffer into its
interpreter; the child's memory is gone by then.

``convert_session`` (the converter with this project's settings) also runs
in the parent, for models that cannot be pickled.
"""
import json
import os
import pickle
import sys
import warnings

from libs.core import error_text

REQUEST = 'request.pickle'
MODEL = 'model.tflite'
ERROR = 'error.json'
STATS = 'stats.json'
ERROR_STATUS = 3


class ConversionError(ValueError):
  """TensorFlow Lite could not convert the model (one-line message)."""


def convert_session(session, inputs, outputs):
  """The flatbuffer (bytes) of ``outputs`` of the restored ``session``.

  Raises:
    ConversionError: with the converter's first line.
  """
  import tensorflow.compat.v1 as tf
  try:
    converter = tf.lite.TFLiteConverter.from_session(session, inputs,
                                                     outputs)
    # Three passes that cost time and memory and change nothing here: the
    # conversion metadata, the deduplication of equal weight buffers (a
    # Python round trip through the whole flatbuffer; the models here have
    # none to merge) and a Grappler pass that only inlines functions (the
    # frozen graph has none).  Private attributes of
    # TensorFlow 2.x: where a version lacks them, nothing changes.
    converter.exclude_conversion_metadata = True
    if hasattr(converter, '_experimental_use_buffer_offset'):
      converter._experimental_use_buffer_offset = True
    if hasattr(converter, '_optimize_tf_model'):
      converter._optimize_tf_model = lambda graph_def, *unused: graph_def
    with warnings.catch_warnings():
      warnings.simplefilter('ignore')
      return converter.convert()
  except Exception as err:  # the converter raises several error types
    raise ConversionError('TensorFlow Lite could not convert the model: %s'
                          % error_text.first_line(err)) from err


def build_and_convert(request):
  """Builds the model of ``request``, restores its checkpoint, converts it.

  Returns:
    the flatbuffer (bytes).
  Raises:
    CheckpointError (and subclasses), ConversionError.
  """
  import tensorflow.compat.v1 as tf
  from li_programs.checkpoints import train_checkpoints
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.as_dtype(request['image_dtype']),
                            request['image_shape'], name='images')
    labels = request['build_labels'](images)
    saver = tf.train.Saver(tf.global_variables())
  config = tf.ConfigProto()
  if request.get('session_config'):
    config.ParseFromString(request['session_config'])
  with tf.Session(graph=graph, config=config) as session:
    train_checkpoints.restore_checkpoint(
        session, saver, request['checkpoint'],
        config_file=request.get('config_file'))
    return convert_session(session, [images], [labels])


def write_request(work_dir, build_labels, image_shape, image_dtype,
                  checkpoint, config_file=None, session_config=None):
  """Writes the child's request; raises pickle/attribute errors when
  ``build_labels`` cannot be pickled."""
  request = {'build_labels': build_labels,
             'image_shape': [int(d) for d in image_shape],
             'image_dtype': image_dtype, 'checkpoint': checkpoint,
             'config_file': config_file,
             'session_config': (session_config.SerializeToString()
                                if session_config is not None else None)}
  data = pickle.dumps(request)
  with open(os.path.join(work_dir, REQUEST), 'wb') as f:
    f.write(data)


def main(argv):
  if len(argv) != 1:
    sys.stderr.write('usage: python -m li_programs.evaluate.tflite_convert '
                     'WORK_DIR\n')
    return 2
  work_dir = argv[0]
  # As the programs do, before TensorFlow (see there).
  from li_programs.runtime import process
  process.prepare()
  from libs.core import memory
  from libs.core import tf_compat
  tf_compat.use_graph_mode()
  try:
    with open(os.path.join(work_dir, REQUEST), 'rb') as f:
      request = pickle.load(f)
    flatbuffer = build_and_convert(request)
  except Exception as err:  # reported to the parent, which raises it
    with open(os.path.join(work_dir, ERROR), 'w') as f:
      json.dump({'type': type(err).__name__,
                 'message': error_text.first_line(err)}, f)
    return ERROR_STATUS
  partial = os.path.join(work_dir, MODEL + '.partial')
  with open(partial, 'wb') as f:
    f.write(flatbuffer)
  os.rename(partial, os.path.join(work_dir, MODEL))
  with open(os.path.join(work_dir, STATS), 'w') as f:
    json.dump({'peak_rss_mib': round(memory.peak_rss_mib(), 1)}, f)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
