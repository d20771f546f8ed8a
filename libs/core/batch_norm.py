"""The project's BatchNorm layer, a drop-in for ``tf_slim.batch_norm``.

tf-slim 1.1.0 builds its BatchNorm on a Keras-internal layer that the
TensorFlow wheels from 2.13 on no longer ship, so the models use this layer
instead, on TensorFlow 1.15 and 2.x alike.  It keeps what the published
checkpoints and the training code depend on:

* variables ``<scope>/gamma`` (with ``scale``), ``<scope>/beta`` (with
  ``center``), ``<scope>/moving_mean`` and ``<scope>/moving_variance``
  (default scope ``BatchNorm``), all float32, all in ``MODEL_VARIABLES``,
  created and listed in the order tf-slim uses; gamma and beta are
  trainable (when ``trainable``), the moving statistics never;
* the normalisation is one ``FusedBatchNorm`` op: batch statistics while
  training, the moving statistics otherwise; ``epsilon`` below 1.001e-5 is
  raised to it, as TensorFlow 1.15's fused kernel does (2.x does not);
* while training, the moving statistics follow
  ``moving -= (moving - batch) * (1 - decay)``, where ``batch`` is the
  fused op's batch variance (with Bessel's correction) for the variance.
  The two update ops go to ``updates_collections`` (``UPDATE_OPS`` by
  default) or, with ``updates_collections=None``, run before the output is
  returned; like tf-slim, ``trainable=False`` with the default
  ``UPDATE_OPS`` creates no updates at all;
* ``param_regularizers`` add their losses to ``REGULARIZATION_LOSSES``,
  ``outputs_collections`` receives the output under the layer's scope name,
  and the function takes ``arg_scope`` defaults like any slim layer.

``is_training`` may be a Python bool or a boolean tensor; with a tensor both
branches are built and the updates become no-ops when it is false.
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.ops.arg_scope import arg_scope_func_key

_DATA_FORMATS = ('NHWC', 'NCHW')
# TensorFlow 1.15's fused_batch_norm raises a smaller epsilon to this floor
# (cuDNN's minimum), so the published models ran 1e-5 as 1.001e-5; 2.x no
# longer does, so the layer applies the floor itself on every version.
MIN_EPSILON = 1.001e-5


def _static_bool(value):
  """``value`` as a Python bool when known while building, else None."""
  if isinstance(value, bool):
    return value
  static = tf.get_static_value(value)
  return None if static is None else bool(static)


def _cond(predicate, true_fn, false_fn):
  """``tf.cond`` that picks the branch right away for a known predicate."""
  known = _static_bool(predicate)
  if known is None:
    return tf.cond(predicate, true_fn, false_fn)
  return true_fn() if known else false_fn()


def _assign_moving_average(variable, value, step):
  """``variable -= (variable - value) * step``, holding the variable's lock.

  With several towers, one update per tower of the same moving statistic
  runs in the same step, possibly at the same time.  Unlocked, two
  subtractions racing on one element can lose one of them (tf-slim's
  updates can); locked, each lands.
  """
  with tf.name_scope(None, 'AssignMovingAvg', [variable, value, step]) as sc:
    return tf.assign_sub(variable, (variable - value) * step,
                         use_locking=True, name=sc)


def _parameter(name, shape, initializer, regularizer, trainable):
  return slim.model_variable(name, shape=shape, dtype=tf.float32,
                             initializer=initializer, regularizer=regularizer,
                             trainable=trainable)


def _create_parameters(shape, center, scale, param_initializers,
                       param_regularizers, trainable, updates_collections,
                       variables_collections):
  """The layer's variables, created and listed as tf-slim does.

  Returns:
    dict with the four statistics and parameters; ``gamma`` / ``beta`` are
    constants 1 / 0 without ``scale`` / ``center``.
  """
  initializers = dict(param_initializers or {})
  regularizers = dict(param_regularizers or {})
  # tf-slim creates gamma before beta and lists the variables in
  # ``variables_collections`` moving statistics first when the updates go
  # to UPDATE_OPS, and in creation order, beta first, otherwise.
  default_updates = updates_collections == tf.GraphKeys.UPDATE_OPS
  created = {}
  for name in (('gamma', 'beta') if default_updates else ('beta', 'gamma')):
    if name == 'gamma' and scale:
      created['gamma'] = _parameter(
          'gamma', shape, initializers.get('gamma', tf.ones_initializer()),
          regularizers.get('gamma'), trainable)
    elif name == 'beta' and center:
      created['beta'] = _parameter(
          'beta', shape, initializers.get('beta', tf.zeros_initializer()),
          regularizers.get('beta'), trainable)
  # Moving statistics are never partitioned: the moving-average update
  # cannot assign to a partitioned variable.
  with tf.variable_scope(tf.get_variable_scope()) as unpartitioned:
    unpartitioned.set_partitioner(None)
    created['moving_mean'] = _parameter(
        'moving_mean', shape,
        initializers.get('moving_mean', tf.zeros_initializer()), None, False)
    created['moving_variance'] = _parameter(
        'moving_variance', shape,
        initializers.get('moving_variance', tf.ones_initializer()), None,
        False)
  listed = (('moving_mean', 'moving_variance', 'beta', 'gamma')
            if default_updates else list(created))
  for name in listed:
    if name in created:
      collections = slim.utils.get_variable_collections(
          variables_collections, name)
      if collections:
        tf.add_to_collections(collections, created[name])
  if 'gamma' not in created:
    created['gamma'] = tf.constant(1.0, tf.float32, shape)
  if 'beta' not in created:
    created['beta'] = tf.constant(0.0, tf.float32, shape)
  return created


@slim.add_arg_scope
def batch_norm(inputs,
               decay=0.999,
               center=True,
               scale=False,
               epsilon=0.001,
               activation_fn=None,
               param_initializers=None,
               param_regularizers=None,
               updates_collections=tf.GraphKeys.UPDATE_OPS,
               is_training=True,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               fused=None,
               data_format='NHWC',
               scope=None):
  """Batch normalisation of a 4-D tensor over all axes but the channels.

  Args:
    inputs: 4-D float tensor, channels last (``NHWC``) or second (``NCHW``),
      with a known channel count.
    decay: moving-average decay of the moving statistics.
    center: add the learned offset ``beta``.
    scale: multiply by the learned ``gamma``.
    epsilon: added to the variance before dividing by its square root.
    activation_fn: applied to the output, e.g. ``tf.nn.relu``; None for none.
    param_initializers: optional initializers keyed ``beta``, ``gamma``,
      ``moving_mean``, ``moving_variance`` (defaults: 0, 1, 0, 1).
    param_regularizers: optional regularizers keyed ``beta``, ``gamma``.
    updates_collections: collections that receive the two moving-average
      update ops; None runs them before returning the output instead.
    is_training: Python bool or boolean tensor: batch statistics and
      moving-average updates (true) or the moving statistics (false).
    reuse: reuse the variables of ``scope``.
    variables_collections: extra collections for the variables, a list for
      all of them or a dict keyed by variable name.
    outputs_collections: collections that receive the output.
    trainable: whether ``beta`` and ``gamma`` are trainable.
    fused: None or True (the fused kernel is the only implementation).
    data_format: ``NHWC`` or ``NCHW``.
    scope: variable scope; ``BatchNorm`` by default.

  Returns:
    The normalised (and activated) tensor, shaped like ``inputs``.

  Raises:
    ValueError: ``data_format`` or ``fused`` not supported, ``inputs`` not
      4-D or its channel count unknown.
  """
  if data_format not in _DATA_FORMATS:
    raise ValueError('batch_norm: data_format must be one of %s, got %r'
                     % (', '.join(_DATA_FORMATS), data_format))
  if fused not in (None, True):
    raise ValueError('batch_norm: only the fused implementation exists; '
                     'fused must be None or True, got %r' % (fused,))
  epsilon = max(float(epsilon), MIN_EPSILON)
  with tf.variable_scope(scope, 'BatchNorm', [inputs], reuse=reuse) as sc:
    inputs = tf.convert_to_tensor(inputs)
    if inputs.shape.ndims != 4:
      raise ValueError('batch_norm: %s must be 4-D, got shape %s'
                       % (inputs.name, inputs.shape))
    channels = inputs.shape[-1 if data_format == 'NHWC' else 1]
    channels = tf.dimension_value(channels)
    if channels is None:
      raise ValueError('batch_norm: the channel count of %s is unknown '
                       '(shape %s)' % (inputs.name, inputs.shape))
    created = _create_parameters(
        [channels], center, scale, param_initializers, param_regularizers,
        trainable, updates_collections, variables_collections)
    moving_mean = created['moving_mean']
    moving_variance = created['moving_variance']
    gamma, beta = created['gamma'], created['beta']

    def _with_batch_statistics():
      return tf.nn.fused_batch_norm(inputs, gamma, beta, epsilon=epsilon,
                                    data_format=data_format, is_training=True)

    def _with_moving_statistics():
      # The op's own mean and variance outputs are not defined for
      # inference on every version; the moving statistics are returned
      # instead, so a false ``is_training`` tensor updates by exactly zero.
      normalised, _, _ = tf.nn.fused_batch_norm(
          inputs, gamma, beta, mean=moving_mean, variance=moving_variance,
          epsilon=epsilon, data_format=data_format, is_training=False)
      return normalised, tf.identity(moving_mean), tf.identity(moving_variance)

    outputs, mean, variance = _cond(is_training, _with_batch_statistics,
                                    _with_moving_statistics)

    # As in tf-slim, a layer with frozen parameters (``trainable=False``)
    # that would put its updates in UPDATE_OPS leaves its moving statistics
    # alone; it still normalises with batch statistics while training.
    default_updates = updates_collections == tf.GraphKeys.UPDATE_OPS
    frozen = not trainable and default_updates
    if _static_bool(is_training) is not False and not frozen:
      # The step ``1 - decay`` rounds as in tf-slim: computed in float32
      # from a float32 decay on the UPDATE_OPS path, in double precision
      # otherwise.  A false ``is_training`` tensor makes it zero.
      if default_updates:
        step = 1.0 - _cond(is_training,
                           lambda: tf.constant(decay, tf.float32),
                           lambda: tf.constant(1.0, tf.float32))
      else:
        step = _cond(is_training,
                     lambda: tf.constant(1.0 - decay, tf.float32),
                     lambda: tf.constant(0.0, tf.float32))
      update_mean = _assign_moving_average(moving_mean, mean, step)
      update_variance = _assign_moving_average(moving_variance, variance,
                                               step)
      if updates_collections is None:
        with tf.control_dependencies([update_mean, update_variance]):
          outputs = tf.identity(outputs)
      else:
        # tf-slim collects the update ops on the UPDATE_OPS path and their
        # output tensors otherwise.
        for update in (update_mean, update_variance):
          tf.add_to_collections(updates_collections,
                                update.op if default_updates else update)

    outputs.set_shape(inputs.shape)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


def foldable_params(normalizer_fn, normalizer_params):
  """The keyword arguments ``normalizer_fn`` would run with, when it is this
  layer at inference (``is_training`` statically false) with nothing after
  the affine map (no activation, no output collection, NHWC); else None.

  Arguments come from this layer's ``arg_scope`` overridden by
  ``normalizer_params``, as a slim convolution would call it.
  """
  if normalizer_fn is not batch_norm:
    return None
  params = dict(slim.current_arg_scope().get(arg_scope_func_key(batch_norm),
                                              {}))
  params.update(normalizer_params or {})
  if (_static_bool(params.get('is_training', True)) is not False or
      params.get('activation_fn') is not None or
      params.get('outputs_collections') is not None or
      params.get('data_format', 'NHWC') != 'NHWC'):
    return None
  return params


def inference_scale_and_offset(channels, center=True, scale=False,
                               epsilon=0.001, param_initializers=None,
                               param_regularizers=None,
                               updates_collections=tf.GraphKeys.UPDATE_OPS,
                               reuse=None, variables_collections=None,
                               trainable=True, scope=None, **unused):
  """``(scale, offset)`` with ``batch_norm(x, is_training=False, ...)`` equal
  to ``x * scale + offset``, for folding into the convolution before it.

  Creates and lists exactly the variables ``batch_norm`` creates with the
  same arguments (``unused``: its arguments that do not change them).
  """
  del unused
  epsilon = max(float(epsilon), MIN_EPSILON)
  with tf.variable_scope(scope, 'BatchNorm', reuse=reuse):
    created = _create_parameters(
        [channels], center, scale, param_initializers, param_regularizers,
        trainable, updates_collections, variables_collections)
    factor = created['gamma'] * tf.rsqrt(created['moving_variance'] + epsilon)
    return factor, created['beta'] - created['moving_mean'] * factor
