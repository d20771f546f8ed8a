"""The LI layer as a Keras layer.

    from tensorflow import keras
    from li_utils.layers import LateralInhibition

    inputs = keras.Input((65, 65, 64))
    x = keras.layers.Conv2D(64, 3, padding='same')(inputs)
    x = LateralInhibition(li_zone=3, li_activation_fn='relu')(x)
    model = keras.Model(inputs, keras.layers.Conv2D(5, 1)(x))

``LateralInhibition`` takes the arguments of
``li_utils.conv_ops.lateral_inhibition_layer`` and makes the same variable,
``li_weights`` of shape ``[1, 1, C, 1]``, drawn uniformly from
``li_weight_initilizer_params`` (``minval``/``maxval``, default 0..1 as the
graph layer's initializer) and clipped to ``li_weight_clip_values`` after
every optimiser update (``ClipLIWeights``).  Its kernel and convolution are
the graph layer's own (li_utils/li_kernel.py), so for the same weights the
outputs agree.  It is trainable, goes into functional and subclassed
models, and is saved and loaded with the model (registered as
``li_convs>LateralInhibition``).

Keras: ``tf.keras`` of the TensorFlow installed -- Keras 3 on TensorFlow
2.16 and later (TensorFlow backend), Keras 2 (``tf_keras``, or TensorFlow
up to 2.15, 1.15 included) otherwise.  The graph layer's arguments that
belong to TF1 graph building have no Keras meaning and are left out:
``scope`` (use ``name``), ``reuse``, ``variables_collections`` and
``return_li_kernel_weights`` (call ``li_kernel()``); ``li_normalizer_fn``
must stay None (put a ``keras.layers.BatchNormalization`` after the layer).
"""
import tensorflow as tf_root
import tensorflow.compat.v1 as tf

from li_utils import li_kernel

keras = tf_root.keras

_PACKAGE = 'li_convs'
_UNIFORM_INITIALIZERS = ('random_uniform_initializer', 'RandomUniform',
                         'random_uniform')


def _registered(cls):
  """Registers ``cls`` for loading saved models where Keras can (Keras 3:
  ``keras.saving``, Keras 2.x: ``keras.utils``; TensorFlow 1.15's Keras has
  neither: pass ``custom_objects=custom_objects()`` to ``load_model``)."""
  for module in ('saving', 'utils'):
    register = getattr(getattr(keras, module, None),
                       'register_keras_serializable', None)
    if register is not None:
      return register(package=_PACKAGE)(cls)
  return cls


@_registered
class ClipLIWeights(keras.constraints.Constraint):
  """Keeps the LI weights in ``[min_value, max_value]``."""

  def __init__(self, min_value=0.0, max_value=1.0):
    self.min_value = float(min_value)
    self.max_value = float(max_value)

  def __call__(self, w):
    return tf.clip_by_value(w, self.min_value, self.max_value)

  def get_config(self):
    return {'min_value': self.min_value, 'max_value': self.max_value}


def _initializer(li_weight_initilizer, params):
  """A Keras initializer for the graph layer's initializer arguments."""
  params = dict(params or {})
  name = getattr(li_weight_initilizer, '__name__', li_weight_initilizer)
  if li_weight_initilizer is None or name in _UNIFORM_INITIALIZERS:
    # The graph layer's tf.random_uniform_initializer draws from
    # [minval, maxval), 0 and 1 unless given.
    return keras.initializers.RandomUniform(
        minval=params.pop('minval', 0.0), maxval=params.pop('maxval', 1.0),
        **params)
  if isinstance(li_weight_initilizer, type):
    return li_weight_initilizer(**params)
  return keras.initializers.get(li_weight_initilizer)


@_registered
class LateralInhibition(keras.layers.Layer):
  """Lateral inhibition of a 4-D feature map (see the module docstring)."""

  def __init__(self, li_zone=3, li_activation_fn=None, li_decay_std=1.0,
               li_weight_initilizer=None, li_weight_initilizer_params=None,
               li_weight_clip_values=(0.0, 1.0), li_normalizer_fn=None,
               li_normalizer_params=None, li_weight_regularizer=None,
               li_rate=1, depth_multiplier=1, stride=1, padding='SAME',
               data_format='NHWC', trainable=True,
               name='lateral_inhibition', **kwargs):
    super(LateralInhibition, self).__init__(trainable=trainable, name=name,
                                            **kwargs)
    li_kernel.check_layer_arguments('LateralInhibition', li_zone, li_rate,
                                    stride, padding, data_format)
    li_kernel.gaussian_decay(li_zone, li_decay_std)  # checks the sigma
    if li_normalizer_fn is not None or li_normalizer_params:
      raise ValueError('LateralInhibition: li_normalizer_fn has no Keras '
                       'form here; add keras.layers.BatchNormalization() '
                       'after the layer')
    self.li_zone = int(li_zone)
    self.li_decay_std = float(li_decay_std)
    self.li_rate = int(li_rate)
    self.depth_multiplier = int(depth_multiplier)
    self.stride = int(stride)
    self.padding = padding
    self.data_format = data_format
    clip = li_kernel.clip_range(li_weight_clip_values)
    self.li_weight_clip_values = None if clip is None else list(clip)
    self.li_activation_fn = (None if li_activation_fn is None else
                             keras.activations.get(li_activation_fn))
    self.li_weight_initializer = _initializer(li_weight_initilizer,
                                              li_weight_initilizer_params)
    self.li_weight_regularizer = keras.regularizers.get(
        li_weight_regularizer)
    self.li_weights = None

  def build(self, input_shape):
    channels = li_kernel.input_channels('LateralInhibition', input_shape,
                                        self.data_format)
    clip = self.li_weight_clip_values
    self.li_weights = self.add_weight(
        name=li_kernel.LI_WEIGHTS_NAME, shape=(1, 1, channels, 1),
        initializer=self.li_weight_initializer,
        regularizer=self.li_weight_regularizer,
        constraint=None if clip is None else ClipLIWeights(*clip),
        trainable=True)
    super(LateralInhibition, self).build(input_shape)

  def li_kernel(self):
    """The ``[z, z, C, depth_multiplier]`` kernel of the current weights."""
    return li_kernel.create_lateral_inhibition_kernel(
        self.li_weights, self.li_zone, self.li_decay_std,
        self.depth_multiplier)

  def call(self, inputs):
    net = li_kernel.apply_kernel(inputs, self.li_kernel(), self.stride,
                                 self.padding, self.li_rate, self.data_format)
    if self.li_activation_fn is not None:
      net = self.li_activation_fn(net)
    return net

  def compute_output_shape(self, input_shape):
    shape = list(tf.TensorShape(input_shape).as_list())
    spatial = (1, 2) if self.data_format == 'NHWC' else (2, 3)
    channel = 3 if self.data_format == 'NHWC' else 1
    extent = (self.li_zone - 1) * self.li_rate
    for axis in spatial:
      size = shape[axis]
      if size is not None:
        if self.padding == 'VALID':
          size -= extent
        shape[axis] = -(-size // self.stride)
    if shape[channel] is not None:
      shape[channel] *= self.depth_multiplier
    return tuple(shape)

  def get_config(self):
    config = super(LateralInhibition, self).get_config()
    config.update({
        'li_zone': self.li_zone,
        'li_activation_fn': (None if self.li_activation_fn is None else
                             keras.activations.serialize(
                                 self.li_activation_fn)),
        'li_decay_std': self.li_decay_std,
        'li_weight_initilizer': keras.initializers.serialize(
            self.li_weight_initializer),
        'li_weight_clip_values': self.li_weight_clip_values,
        'li_weight_regularizer': keras.regularizers.serialize(
            self.li_weight_regularizer) if self.li_weight_regularizer
                                        else None,
        'li_rate': self.li_rate,
        'depth_multiplier': self.depth_multiplier,
        'stride': self.stride,
        'padding': self.padding,
        'data_format': self.data_format,
    })
    return config


def custom_objects():
  """``{name: class}`` for ``load_model`` where Keras has no registry."""
  return {'LateralInhibition': LateralInhibition,
          'ClipLIWeights': ClipLIWeights}
