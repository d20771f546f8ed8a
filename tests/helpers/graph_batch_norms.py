"""BatchNorm decay and epsilon read off a built graph, checked against the
original's values.

The values are read from the graph's ops, not from the project's constants:
epsilon from the ``FusedBatchNorm*`` op of each layer (TensorFlow 1.15 runs
1e-5 as 1.001e-5, see FUSED_MIN_EPSILON), the moving-average
decay from the assign ops that update ``moving_mean`` / ``moving_variance``
(``variable -= (variable - value) * (1 - decay)``; only training graphs have
them).

The original's values, by the network a BatchNorm sits in (an LI layer's own
BatchNorm takes those of the network around it, except for the decay in a
ResNet, which the original passes explicitly):

  MobileNetV2 backbone (scope MobilenetV2)            decay 0.997,  eps 1e-3
  ResNet backbones (scopes resnet_v1_50, _101)        decay 0.95,   eps 1e-5
  LI layers inside a ResNet                           decay 0.997,  eps 1e-5
  ASPP / LI-ASPP / dense ASPP / decoder               decay 0.9997, eps 1e-5
"""
import numpy as np
import tensorflow.compat.v1 as tf

MOBILENET = (0.997, 1e-3)
RESNET = (0.95, 1e-5)
RESNET_LI = (0.997, 1e-5)
HEAD = (0.9997, 1e-5)

# TensorFlow 1.15's tf.nn.fused_batch_norm (the original's, and ours there)
# raises a smaller epsilon to this floor: 1e-5 runs as 1.001e-5. TensorFlow
# 2.x keeps 1e-5; either is accepted.
FUSED_MIN_EPSILON = 1.001e-5

_HEAD_SCOPES = ('aspp', 'li_aspp', 'denseASPP', 'li_denseASPP', 'decoder')
_VARIABLE_OPS = ('VariableV2', 'VarHandleOp', 'Variable')
_ASSIGN_SUB_OPS = ('AssignSub', 'AssignSubVariableOp')


def expected_batch_norm(layer_scope):
  """(decay, epsilon) of the original for the BatchNorm at ``layer_scope``
  (e.g. 'MobilenetV2/Conv/BatchNorm'); None for an unknown network part."""
  top = layer_scope.split('/')[0]
  if top == 'MobilenetV2':
    return MOBILENET
  if top in ('resnet_v1_50', 'resnet_v1_101'):
    return RESNET_LI if '/lateral_inhibition/' in layer_scope else RESNET
  # Dense ASPP places some layers in 'denseASPP_layer<i>' scopes.
  if top in _HEAD_SCOPES or top.split('_layer')[0] in _HEAD_SCOPES:
    return HEAD
  return None


def _source_variable(tensor):
  """Name of the variable a tensor reads (through Identity/read ops)."""
  op = tensor.op
  while op.type not in _VARIABLE_OPS:
    if op.type not in ('Identity', 'ReadVariableOp', 'Enter') or \
        not op.inputs:
      return None
    op = op.inputs[0].op
  return op.name


def _constant(tensor):
  """Value of a tensor computed from constants only (Const/Sub/Cast/Identity),
  else None."""
  op = tensor.op
  if op.type == 'Const':
    return tf.make_ndarray(op.get_attr('value'))
  if op.type in ('Identity', 'Cast'):
    return _constant(op.inputs[0])
  if op.type == 'Sub':
    a, b = _constant(op.inputs[0]), _constant(op.inputs[1])
    return None if a is None or b is None else a - b
  return None


def _update_decay(assign_op):
  """The decay of ``v -= (v - value) * (1 - decay)``; None if not of that
  form."""
  delta = assign_op.inputs[1].op
  if delta.type != 'Mul':
    return None
  for factor in delta.inputs:
    value = _constant(factor)
    if value is not None:
      return float(1.0 - np.asarray(value, np.float64))
  return None


def read_batch_norms(graph):
  """{BatchNorm layer scope: {'decays': [...], 'epsilons': [...]}} for every
  layer owning a ``moving_mean`` variable."""
  layers = {}
  with graph.as_default():
    variables = tf.global_variables()
  for var in variables:
    name = var.op.name
    if name.endswith('/moving_mean'):
      layers[name[:-len('/moving_mean')]] = {'decays': [], 'epsilons': []}
  for op in graph.get_operations():
    if op.type.startswith('FusedBatchNorm') and not op.type.endswith('Grad'):
      offset = _source_variable(op.inputs[2])
      scope = offset.rsplit('/', 1)[0] if offset else None
      if scope in layers:
        layers[scope]['epsilons'].append(float(op.get_attr('epsilon')))
    elif op.type in ('Add', 'AddV2'):
      # A BatchNorm folded into its convolution (the fast inference graph)
      # adds epsilon to the moving variance itself.
      target = _source_variable(op.inputs[0])
      epsilon = _constant(op.inputs[1])
      if (target and target.endswith('/moving_variance') and
          epsilon is not None):
        scope = target.rsplit('/', 1)[0]
        if scope in layers:
          layers[scope]['epsilons'].append(float(epsilon))
    elif op.type in _ASSIGN_SUB_OPS:
      target = _source_variable(op.inputs[0])
      if target and target.rsplit('/', 1)[-1] in ('moving_mean',
                                                  'moving_variance'):
        scope = target.rsplit('/', 1)[0]
        if scope in layers:
          layers[scope]['decays'].append(_update_decay(op))
  return layers


def batch_norm_problems(graph, training=True):
  """Every BatchNorm whose decay (training graphs) or epsilon differs from
  the original's; an empty list when all agree.

  Args:
    training: the graph trains (every layer must then update both moving
      statistics); eval graphs are checked for epsilon only.
  """
  problems = []
  layers = read_batch_norms(graph)
  if not layers:
    return ['no BatchNorm layer found']
  for scope, found in sorted(layers.items()):
    want = expected_batch_norm(scope)
    if want is None:
      problems.append('%s: not in a known network part' % scope)
      continue
    decay, epsilon = want
    epsilons = (epsilon, max(epsilon, FUSED_MIN_EPSILON))
    if not found['epsilons']:
      problems.append('%s: no FusedBatchNorm op (or folded BatchNorm) found'
                      % scope)
    for got in found['epsilons']:
      if all(abs(got - e) > 1e-6 * e for e in epsilons):
        problems.append('%s: epsilon %g, the original uses %g'
                        % (scope, got, epsilon))
    if training:
      if len(found['decays']) < 2:
        problems.append('%s: %d moving-average updates, want mean and '
                        'variance' % (scope, len(found['decays'])))
      for got in found['decays']:
        if got is None or abs(got - decay) > 1e-6:
          problems.append('%s: decay %s, the original uses %g'
                          % (scope, got, decay))
  return problems
