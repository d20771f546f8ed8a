"""Which variables train, and the gradient multipliers of the last layers,
the biases and the LI weights.
"""
import tensorflow.compat.v1 as tf

from li_utils.conv_ops import LI_SCOPE
from li_utils.conv_ops import LI_WEIGHTS_NAME


def _name(var):
  return var.op.name


def in_scopes(var, scopes):
  """True when one of ``scopes`` occurs in the variable's name (DeepLab's
  substring rule for gradient multipliers, so ``aspp`` also covers
  ``li_aspp``)."""
  name = _name(var)
  return any(scope and scope in name for scope in scopes)


def starts_with_scope(var, scopes):
  """True when the variable's name starts with one of ``scopes`` (the rule
  for excluding variables from the initial checkpoint, so ``aspp`` does
  not cover ``li_aspp``)."""
  name = _name(var)
  return any(scope and name.startswith(scope) for scope in scopes)


def is_li_weight(var):
  return _name(var).split('/')[-1] == LI_WEIGHTS_NAME


def select_trainable_variables(variables, backbone_scope=None,
                               freeze_backbone_network=False,
                               finetune_li_weight_only=False):
  """The variables the optimiser updates.

  ``finetune_li_weight_only`` keeps only variables under a
  ``lateral_inhibition`` scope; ``freeze_backbone_network`` drops those
  under the backbone scope. Both may be combined.

  Raises:
    ValueError: the selection is empty.
  """
  selected = list(variables)
  if freeze_backbone_network:
    if not backbone_scope:
      raise ValueError('freeze_backbone_network needs the backbone scope')
    prefix = backbone_scope.rstrip('/') + '/'
    selected = [v for v in selected if not _name(v).startswith(prefix)]
  if finetune_li_weight_only:
    selected = [v for v in selected
                if LI_SCOPE in _name(v).split('/')]
  if not selected:
    what = []
    if freeze_backbone_network:
      what.append('freeze_backbone_network')
    if finetune_li_weight_only:
      what.append('finetune_li_weight_only')
    raise ValueError('no variable left to train (%s)' % ' + '.join(what))
  return selected


def gradient_multipliers(variables, last_layers,
                         last_layer_gradient_multiplier=1.0,
                         li_weight_gradient_multiplier=1.0):
  """Per-variable gradient multipliers (variables not listed keep 1.0).

  Last-layer variables get ``last_layer_gradient_multiplier``, biases twice
  their multiplier; then ``li_weights`` are multiplied by
  ``li_weight_gradient_multiplier`` on top (an LI weight inside a last
  layer, e.g. ``li_aspp``, gets both).
  """
  out = {}
  for var in variables:
    name = _name(var)
    mult = (float(last_layer_gradient_multiplier)
            if in_scopes(var, last_layers) else 1.0)
    if 'biases' in name:
      mult *= 2.0
    if is_li_weight(var):
      mult *= float(li_weight_gradient_multiplier)
    if mult != 1.0:
      out[var] = mult
  return out


def multiply_gradients(grads_and_vars, multipliers):
  """Scales gradients by ``multipliers[var]`` (dense and sparse)."""
  out = []
  for grad, var in grads_and_vars:
    if grad is not None and var in multipliers:
      scale = tf.constant(multipliers[var], dtype=grad.dtype)
      if isinstance(grad, tf.IndexedSlices):
        grad = tf.IndexedSlices(grad.values * scale, grad.indices,
                                grad.dense_shape)
      else:
        grad = grad * scale
    out.append((grad, var))
  return out


def mean_li_weight(variables=None):
  """Scalar mean of all ``li_weights`` values, or None without LI layers."""
  if variables is None:
    variables = tf.global_variables()
  li_vars = [v for v in variables if is_li_weight(v)]
  if not li_vars:
    return None
  flat = tf.concat([tf.reshape(v, [-1]) for v in li_vars], axis=0)
  return tf.reduce_mean(flat)
