"""Pieces of the training graph, each usable on its own.

Everything here takes explicit arguments; ``training_graph`` maps config
options onto them.
"""

import contextlib

import tensorflow.compat.v1 as tf

from libs.core import op_graphs
from libs.core import tf_compat
from li_utils.conv_ops import LI_SCOPE
from li_utils.conv_ops import LI_WEIGHTS_NAME
from li_programs import checkpoint_state
# Re-exported: the training loops and their callers use them from here.
from li_programs.loss_guard import (  # noqa: F401
    TrainingDivergedError, check_finite_loss)

OPTIMIZERS = ('sgd', 'adam')
LEARNING_POLICIES = ('poly', 'step')


# --------------------------------------------------------------------------
# Loss.

def _xla_scope(compile_with_xla):
  """Marks the ops built inside for XLA compilation, or does nothing."""
  if compile_with_xla:
    return tf.xla.experimental.jit_scope()
  return contextlib.nullcontext()


def composed_cross_entropy(labels, logits, compile_with_xla=False):
  """Softmax cross-entropy per row of ``logits`` ``[N, C]`` against class
  ids ``labels`` ``[N]``: the loss and gradient of
  ``tf.nn.sparse_softmax_cross_entropy_with_logits``, from elementwise ops
  and reductions, with the gradient (softmax - one-hot) written out;
  ``compile_with_xla`` fuses each of the two into one XLA computation.

  Why: under TensorFlow 2.x the fused op's CPU kernel is the slow one;
  composed, and more so compiled by XLA, forward plus backward take a
  fraction of its time.  Under 1.15.5 the fused op is the faster
  (docs/performance.md).
  """
  labels = tf.convert_to_tensor(labels)
  num_classes = tf.dimension_value(logits.shape[-1])
  if num_classes is None:
    num_classes = tf.shape(logits)[-1]

  @tf.custom_gradient
  def cross_entropy(logits):
    with _xla_scope(compile_with_xla):
      shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
      exp = tf.exp(shifted)
      total = tf.reduce_sum(exp, axis=1, keepdims=True)
      picked = tf.squeeze(tf.gather(shifted, tf.expand_dims(labels, 1),
                                    batch_dims=1), 1)
      losses = tf.log(tf.squeeze(total, 1)) - picked

    def grad(upstream):
      with _xla_scope(compile_with_xla):
        upstream = tf.expand_dims(upstream, 1)
        return (exp * (upstream / total) -
                tf.one_hot(labels, num_classes, dtype=logits.dtype) *
                upstream)
    return losses, grad
  return cross_entropy(logits)


def pixel_cross_entropy(labels, logits, op_graph=op_graphs.FAST):
  """Per-row softmax cross-entropy: the original's fused op, or under the
  fast op graph on TensorFlow 2.x ``composed_cross_entropy``, compiled by
  XLA where TensorFlow has it (same numbers up to float rounding, faster
  training steps: docs/performance.md)."""
  if op_graph == op_graphs.FAST and tf_compat.tensorflow_major() >= 2:
    return composed_cross_entropy(
        labels, logits, compile_with_xla=tf.test.is_built_with_xla())
  return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                        logits=logits)


def softmax_cross_entropy_loss(logits, labels, num_classes, ignore_label,
                               loss_weight=1.0, upsample_logits=True,
                               hard_example_mining_step=0,
                               top_k_percent_pixels=1.0, scope=None,
                               op_graph=op_graphs.FAST):
  """Pixel-wise softmax cross-entropy, added to tf.GraphKeys.LOSSES.

  Logits are bilinearly resized (align_corners) to the label size, or, with
  ``upsample_logits=False``, labels are resized (nearest) to the logits.
  Pixels labelled ``ignore_label`` get weight 0. With
  ``top_k_percent_pixels < 1`` only the hardest pixels count: the kept share
  ramps linearly from 100% at step 0 to ``top_k_percent_pixels`` at
  ``hard_example_mining_step`` (immediately when that is 0).

  Args:
    logits: ``[B, h, w, C]``.
    labels: ``[B, H, W, 1]`` or ``[B, H, W]`` integer labels.
    op_graph: 'original' takes the original's fused cross-entropy op,
      'fast' the faster of it and ``composed_cross_entropy`` (see
      ``pixel_cross_entropy``).

  Returns:
    The scalar loss tensor.
  """
  if not 0.0 < top_k_percent_pixels <= 1.0:
    raise ValueError('top_k_percent_pixels must be in (0, 1], got %r'
                     % (top_k_percent_pixels,))
  if hard_example_mining_step < 0:
    raise ValueError('hard_example_mining_step must be >= 0, got %r'
                     % (hard_example_mining_step,))
  with tf.name_scope(scope, 'softmax_loss', [logits, labels]):
    if labels.shape.ndims == 3:
      labels = tf.expand_dims(labels, -1)
    if upsample_logits:
      logits = tf.image.resize_bilinear(logits, tf.shape(labels)[1:3],
                                        align_corners=True)
    else:
      labels = tf.image.resize_nearest_neighbor(
          labels, tf.shape(logits)[1:3], align_corners=True)
    flat_labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    flat_logits = tf.reshape(logits, [-1, num_classes])
    keep = tf.not_equal(flat_labels, ignore_label)
    weights = tf.cast(keep, tf.float32) * loss_weight
    # Ignored pixels get a harmless in-range class; their weight is 0.
    safe_labels = tf.where(keep, flat_labels, tf.zeros_like(flat_labels))
    # The one-hot cross-entropy (same loss, same gradient softmax - one_hot)
    # without materialising the one-hot labels in the forward pass.
    pixel_losses = pixel_cross_entropy(safe_labels, flat_logits,
                                       op_graph) * weights

    if top_k_percent_pixels == 1.0:
      total = tf.reduce_sum(pixel_losses)
      present = tf.reduce_sum(tf.cast(tf.greater(weights, 0), tf.float32))
      loss = tf.div_no_nan(total, present)
    else:
      num_pixels = tf.cast(tf.size(pixel_losses), tf.float32)
      if hard_example_mining_step == 0:
        ratio = top_k_percent_pixels
      else:
        step = tf.cast(tf.train.get_or_create_global_step(), tf.float32)
        progress = tf.minimum(step / float(hard_example_mining_step), 1.0)
        ratio = 1.0 - (1.0 - top_k_percent_pixels) * progress
      k = tf.maximum(tf.cast(ratio * num_pixels, tf.int32), 1)
      top_losses, _ = tf.nn.top_k(pixel_losses, k=k, sorted=False)
      present = tf.reduce_sum(tf.cast(tf.greater(top_losses, 0), tf.float32))
      loss = tf.div_no_nan(tf.reduce_sum(top_losses), present)
    tf.losses.add_loss(loss)
    return loss


# --------------------------------------------------------------------------
# Learning rate and optimiser.

def learning_rate(global_step, learning_policy='poly', base_learning_rate=0.01,
                  learning_rate_decay_step=2000,
                  learning_rate_decay_factor=0.1, training_number_of_steps=1,
                  learning_power=0.9, slow_start_step=0,
                  slow_start_learning_rate=1e-4, end_learning_rate=0.0):
  """SGD learning rate: ``poly`` or ``step`` decay with optional slow start.

  poly: ``(base - end) * (1 - step / training_number_of_steps) **
  learning_power + end`` (reaching ``end_learning_rate``, 0 in the
  original, at the last step); step: ``base * factor ** floor(step /
  decay_step)``. For ``step < slow_start_step`` the rate is
  ``slow_start_learning_rate``.
  """
  if learning_policy not in LEARNING_POLICIES:
    raise ValueError('learning_policy must be one of %s, got %r'
                     % ('/'.join(LEARNING_POLICIES), learning_policy))
  step = tf.cast(global_step, tf.int64)
  if learning_policy == 'poly':
    if training_number_of_steps <= 0:
      raise ValueError('training_number_of_steps must be > 0 for the poly '
                       'policy, got %r' % (training_number_of_steps,))
    lr = tf.train.polynomial_decay(
        base_learning_rate, step, training_number_of_steps,
        end_learning_rate=end_learning_rate, power=learning_power)
  else:
    if learning_rate_decay_step <= 0:
      raise ValueError('learning_rate_decay_step must be > 0, got %r'
                       % (learning_rate_decay_step,))
    lr = tf.train.exponential_decay(
        base_learning_rate, step, learning_rate_decay_step,
        learning_rate_decay_factor, staircase=True)
  if slow_start_step and slow_start_step > 0:
    lr = tf.where(step < slow_start_step,
                  tf.constant(slow_start_learning_rate, lr.dtype), lr)
  return lr


def make_optimizer(optimizer='sgd', learning_rate_tensor=None, momentum=0.9,
                   adam_learning_rate=1e-3, adam_epsilon=1e-8):
  """Returns ``(optimizer, learning_rate)``.

  ``sgd`` is momentum SGD on ``learning_rate_tensor``; ``adam`` uses the
  constant ``adam_learning_rate``.
  """
  if optimizer == 'sgd':
    if learning_rate_tensor is None:
      raise ValueError('sgd needs a learning rate tensor')
    return (tf.train.MomentumOptimizer(learning_rate_tensor, momentum),
            learning_rate_tensor)
  if optimizer == 'adam':
    lr = tf.constant(adam_learning_rate, tf.float32)
    return tf.train.AdamOptimizer(lr, epsilon=adam_epsilon), lr
  raise ValueError('optimizer must be one of %s, got %r'
                   % ('/'.join(OPTIMIZERS), optimizer))


# --------------------------------------------------------------------------
# Variable selection and gradient multipliers.

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


# --------------------------------------------------------------------------
# Initialisation from a checkpoint.

def variables_to_restore(checkpoint_path, variables, exclude_scopes=()):
  """Maps checkpoint names to the given variables present in the checkpoint.

  Variables whose name starts with one of ``exclude_scopes``, and those
  missing from the checkpoint, are skipped (reported in the second return
  value).

  Returns:
    ``(var_map, skipped_names)``.

  Raises:
    ValueError: the checkpoint cannot be read, or a variable's shape differs
      from the stored one.
  """
  try:
    reader = tf.train.load_checkpoint(checkpoint_path)
  except Exception as err:  # noqa: BLE001 - re-raised as one line
    raise ValueError('cannot read checkpoint %s: %s'
                     % (checkpoint_path, str(err).splitlines()[0]))
  shapes = reader.get_variable_to_shape_map()
  var_map, skipped = {}, []
  for var in variables:
    name = _name(var)
    if starts_with_scope(var, exclude_scopes) or name not in shapes:
      skipped.append(name)
      continue
    want = var.shape.as_list()
    if list(shapes[name]) != want:
      raise ValueError('checkpoint %s has %s with shape %s, the model needs '
                       '%s' % (checkpoint_path, name, shapes[name], want))
    var_map[name] = var
  return var_map, skipped


def model_init_fn(train_logdir, tf_initial_checkpoint, initialize_last_layer,
                  last_layers, variables=None):
  """Returns ``fn(sess)`` restoring variables from the initial checkpoint,
  or None when there is nothing to do (no checkpoint given, or
  ``train_logdir`` already holds one: the run resumes instead).

  As the original: every global variable (optimizer slots included) but
  ``global_step`` and, unless ``initialize_last_layer``, those whose name
  starts with a last-layer scope, restored where the checkpoint has it.
  Call it after the optimizer has created its slots.
  """
  if not tf_initial_checkpoint:
    return None
  if train_logdir and checkpoint_state.latest(train_logdir):
    return None
  if variables is None:
    variables = tf.global_variables()
  exclude = ['global_step']
  if not initialize_last_layer:
    exclude.extend(last_layers)
  var_map, skipped = variables_to_restore(tf_initial_checkpoint, variables,
                                          exclude)
  if not var_map:
    tf.logging.warning('%s shares no variable with the model; nothing is '
                       'initialised from it', tf_initial_checkpoint)
    return None
  saver = tf.train.Saver(var_map, reshape=False)

  def init_fn(sess):
    saver.restore(sess, tf_initial_checkpoint)
    return len(var_map), skipped

  return init_fn


# --------------------------------------------------------------------------
# Summaries.

def mean_li_weight(variables=None):
  """Scalar mean of all ``li_weights`` values, or None without LI layers."""
  if variables is None:
    variables = tf.global_variables()
  li_vars = [v for v in variables if is_li_weight(v)]
  if not li_vars:
    return None
  flat = tf.concat([tf.reshape(v, [-1]) for v in li_vars], axis=0)
  return tf.reduce_mean(flat)
