"""FLOPs and parameter counts of the evaluation graph (batch 1).

The evaluation graph is ``model.predict_labels`` on a float32 placeholder of
shape ``[1, crop_h, crop_w, 3]``.  The ops the prediction depends on are
copied into a graph of their own (variable initialisers left behind) and
``tf.profiler`` sums the registered float operations of every op (so
convolutions, element-wise arithmetic, pooling and the final argmax count;
batch norm, resizes and activations do not).  Trainable parameters are the
summed sizes of the trainable variables.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from libs.core import op_graphs
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


def _ancestors_def(graph_def, output_name):
  """The part of ``graph_def`` that ``output_name`` depends on (data and
  control inputs), in the original node order."""
  nodes = {node.name: node for node in graph_def.node}
  needed, pending = set(), [output_name]
  while pending:
    name = pending.pop()
    if name in needed:
      continue
    needed.add(name)
    for inp in nodes[name].input:
      pending.append(inp.lstrip('^').split(':')[0])
  subset = tf.GraphDef()
  subset.versions.CopyFrom(graph_def.versions)
  subset.library.CopyFrom(graph_def.library)
  subset.node.extend(n for n in graph_def.node if n.name in needed)
  return subset


def float_ops_of(graph, output_name):
  """Float operations of the part of ``graph`` that computes
  ``output_name``: variables count as inputs, their initialisers not at
  all (the same count as the graph frozen into constants)."""
  subset = _ancestors_def(graph.as_graph_def(), output_name)
  frozen_graph = tf.Graph()
  with frozen_graph.as_default():
    tf.import_graph_def(subset, name='')
    options = (tf.profiler.ProfileOptionBuilder(
        tf.profiler.ProfileOptionBuilder.float_operation())
               .with_empty_output().build())
    stats = tf.profiler.profile(frozen_graph, options=options)
  return int(stats.total_float_ops)


def count_flops_and_params(model_options, crop_size):
  """(float operations, trainable parameters) of the batch-1 eval graph.

  FLOPs are those of the original op graph (atrous convolutions through
  space-to-batch), the figure published for these models; the fast graph
  skips taps that only see padding, so it would count slightly fewer.

  Args:
    model_options: ``li_models.model_options.ModelOptions``.
    crop_size: [height, width] of the evaluation input.
  """
  graph, output_name = build_eval_graph(
      model_options._replace(op_graph=op_graphs.ORIGINAL), crop_size)
  params = trainable_parameter_count(graph)
  return float_ops_of(graph, output_name), params
