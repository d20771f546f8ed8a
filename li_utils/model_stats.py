"""FLOPs and parameter counts of the evaluation graph (batch 1).

The evaluation graph is ``model.predict_labels`` on a float32 placeholder of
shape ``[1, crop_h, crop_w, 3]``.  Its variables are frozen into constants
and ``tf.profiler`` sums the registered float operations of every op (so
convolutions, element-wise arithmetic, pooling and the final argmax count;
batch norm, resizes and activations do not).  Trainable parameters are the
summed sizes of the trainable variables.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from li_models import model

PREDICTION_NAME = 'prediction'


def build_eval_graph(model_options, crop_size):
  """A new graph holding the batch-1 evaluation graph.

  Returns:
    (graph, name of the prediction op).
  """
  crop_size = [int(d) for d in crop_size]
  if len(crop_size) != 2 or min(crop_size) < 1:
    raise ValueError('crop_size must be [height, width] of positive ints, got '
                     '%r' % (crop_size,))
  options = model_options._replace(crop_size=crop_size)
  graph = tf.Graph()
  with graph.as_default():
    images = tf.placeholder(tf.float32, [1] + crop_size + [3], name='images')
    predictions = model.predict_labels(images, options)
    if len(predictions) != 1:
      raise ValueError('count_flops_and_params expects one model output, got '
                       '%s' % sorted(predictions))
    output = tf.identity(list(predictions.values())[0], name=PREDICTION_NAME)
  return graph, output.op.name


def trainable_parameter_count(graph):
  with graph.as_default():
    return int(sum(int(np.prod(v.shape.as_list()))
                   for v in tf.trainable_variables()))


def frozen_float_ops(graph, output_name):
  """Float operations of ``graph`` frozen at its (initial) variable values."""
  with graph.as_default():
    init = tf.global_variables_initializer()
  with tf.Session(graph=graph) as sess:
    sess.run(init)
    frozen = tf.graph_util.convert_variables_to_constants(
        sess, graph.as_graph_def(), [output_name])
  frozen_graph = tf.Graph()
  with frozen_graph.as_default():
    tf.import_graph_def(frozen, name='')
    options = (tf.profiler.ProfileOptionBuilder(
        tf.profiler.ProfileOptionBuilder.float_operation())
               .with_empty_output().build())
    stats = tf.profiler.profile(frozen_graph, options=options)
  return int(stats.total_float_ops)


def count_flops_and_params(model_options, crop_size):
  """(float operations, trainable parameters) of the batch-1 eval graph.

  Args:
    model_options: ``li_models.model_options.ModelOptions``.
    crop_size: [height, width] of the evaluation input.
  """
  graph, output_name = build_eval_graph(model_options, crop_size)
  params = trainable_parameter_count(graph)
  return frozen_float_ops(graph, output_name), params
