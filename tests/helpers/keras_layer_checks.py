"""Checks of the Keras LateralInhibition layer, run in a fresh interpreter
(tests/unit/test_keras_layer.py): Keras needs TensorFlow's default
behaviour (eager on 2.x), which the test process turns off.

    python tests/helpers/keras_layer_checks.py OUTPUT_DIR

Prints one JSON line with the largest differences found; any failed check
raises.  Uses only the Keras API that TensorFlow 1.15's Keras and Keras 3
share (functional models, predict, train_on_batch, get/set_weights, save
and load_model).
"""
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import tensorflow as tf_root  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

from li_utils import conv_ops  # noqa: E402
from li_utils import layers  # noqa: E402

keras = layers.keras
KERAS_VERSION = str(getattr(keras, '__version__', '2'))
KERAS_3 = int(KERAS_VERSION.split('.')[0]) >= 3
SHAPE = (2, 17, 19, 8)

# Keras layer arguments; the graph layer gets the same ones.
CASES = [
    dict(li_zone=3),
    dict(li_zone=5, li_decay_std=1.5, li_rate=2, li_activation_fn='relu'),
    dict(li_zone=3, depth_multiplier=2, stride=2, padding='VALID'),
    dict(li_zone=7, li_decay_std=2.0, data_format='NCHW'),
]


def graph_layer(inputs, weights, args):
  """``lateral_inhibition_layer`` of ``args`` with ``weights``, in a graph
  of its own."""
  args = dict(args)
  if args.get('li_activation_fn') == 'relu':
    args['li_activation_fn'] = tf.nn.relu
  with tf.Graph().as_default():
    outputs = conv_ops.lateral_inhibition_layer(tf.constant(inputs), **args)
    variables = [v for v in tf.global_variables()
                 if v.op.name.endswith('li_weights')]
    assert len(variables) == 1, variables
    with tf.Session() as sess:
      sess.run(variables[0].assign(weights))
      return sess.run(outputs)


def _input_shape(args):
  if args.get('data_format') == 'NCHW':
    return (SHAPE[3], SHAPE[1], SHAPE[2])
  return SHAPE[1:]


def check_equal_to_graph_layer(rng):
  worst = 0.0
  for args in CASES:
    shape = (SHAPE[0],) + _input_shape(args)
    inputs = rng.uniform(-1, 1, shape).astype(np.float32)
    weights = rng.uniform(0, 1, (1, 1, SHAPE[3], 1)).astype(np.float32)
    entry = keras.Input(_input_shape(args))
    layer = layers.LateralInhibition(**args)
    model = keras.Model(entry, layer(entry))
    assert [tuple(w.shape) for w in layer.get_weights()] == [
        (1, 1, SHAPE[3], 1)]
    layer.set_weights([weights])
    found = model.predict(inputs, verbose=0)
    expected = graph_layer(inputs, weights, args)
    assert found.shape == expected.shape, (args, found.shape, expected.shape)
    assert found.shape[1:] == tuple(layer.compute_output_shape(
        (None,) + _input_shape(args))[1:])
    worst = max(worst, float(np.abs(found - expected).max()))
  assert worst <= 1e-6, worst
  return worst


def _model():
  entry = keras.Input(SHAPE[1:])
  before = keras.layers.Conv2D(SHAPE[3], 1, name='before')(entry)
  inhibited = layers.LateralInhibition(
      li_zone=3, li_rate=2, li_activation_fn='relu',
      li_weight_initilizer_params={'minval': 0.9, 'maxval': 1.0},
      name='li')(before)
  logits = keras.layers.Conv2D(3, 1, name='logits')(inhibited)
  return entry, before, inhibited, keras.Model(entry, logits)


def check_training_step(rng):
  entry, before, inhibited, model = _model()
  start = model.get_layer('li').get_weights()[0]
  assert start.min() >= 0.9 and start.max() < 1.0, 'initialiser range'
  assert len(model.get_layer('li').trainable_weights) == 1
  # A step large enough to push weights past the clip range.
  model.compile(optimizer=keras.optimizers.SGD(1000.0),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True))
  inputs = rng.uniform(-1, 1, SHAPE).astype(np.float32)
  labels = rng.randint(0, 3, SHAPE[:3])
  model.train_on_batch(inputs, labels)
  trained = model.get_layer('li').get_weights()[0]
  assert np.abs(trained - start).max() > 1e-3, 'li_weights did not train'
  assert trained.min() >= 0.0 and trained.max() <= 1.0, 'clipping'
  assert np.isin(trained, [0.0, 1.0]).any(), 'no weight was clipped'
  probe = keras.Model(entry, [before, inhibited])
  features, found = probe.predict(inputs, verbose=0)
  expected = graph_layer(features, trained,
                         dict(li_zone=3, li_rate=2, li_activation_fn='relu'))
  difference = float(np.abs(found - expected).max())
  assert difference <= 1e-6, difference
  return model, inputs, difference


def check_save_and_load(model, inputs, output_dir):
  path = os.path.join(output_dir, 'li_model.keras' if KERAS_3
                      else 'li_model.h5')
  model.save(path)
  loaded = keras.models.load_model(path,
                                   custom_objects=layers.custom_objects())
  np.testing.assert_array_equal(loaded.predict(inputs, verbose=0),
                                model.predict(inputs, verbose=0))
  layer = loaded.get_layer('li')
  assert isinstance(layer, layers.LateralInhibition)
  assert layer.get_config() == model.get_layer('li').get_config()
  assert layer.li_weights.shape == (1, 1, SHAPE[3], 1)
  assert 'li_weights' in getattr(layer.li_weights, 'path',
                                 layer.li_weights.name)
  np.testing.assert_array_equal(layer.get_weights()[0],
                                model.get_layer('li').get_weights()[0])
  return os.path.basename(path)


def check_errors():
  for kwargs, message in (
      (dict(li_zone=4), 'odd positive integer'),
      (dict(data_format='NWHC'), 'data_format must be one of'),
      (dict(li_rate=2, stride=2), 'li_rate > 1 needs stride 1'),
      (dict(li_normalizer_fn=tf.identity), 'BatchNormalization'),
      (dict(li_weight_clip_values=(1, 0)), 'min <= max')):
    try:
      layers.LateralInhibition(**kwargs)
    except ValueError as err:
      assert message in str(err), (kwargs, err)
    else:
      raise AssertionError('no error for %s' % kwargs)


def main(output_dir):
  rng = np.random.RandomState(0)
  versus_graph = check_equal_to_graph_layer(rng)
  model, inputs, after_step = check_training_step(rng)
  saved = check_save_and_load(model, inputs, output_dir)
  check_errors()
  print(json.dumps({'tensorflow': tf_root.__version__,
                    'keras': KERAS_VERSION,
                    'max_difference': versus_graph,
                    'max_difference_after_step': after_step,
                    'saved_as': saved}))


if __name__ == '__main__':
  main(sys.argv[1])
