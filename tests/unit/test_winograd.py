"""Winograd F(4x4, 3x3): the direct convolution's numbers, where it pays."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core import tf_compat
from libs.core import winograd

pytestmark = pytest.mark.tf2


@pytest.mark.parametrize('shape,rate', [
    ((1, 33, 33, 6, 5), 1),   # not a multiple of the 4x4 blocks
    ((2, 13, 9, 5, 7), 1),    # batch 2, non-square
    ((1, 4, 4, 2, 3), 1),     # one block
    ((2, 33, 30, 6, 4), 2),   # dilated: rate**2 sub-maps
    ((1, 17, 19, 3, 5), 3),
])
def test_matches_the_direct_convolution(shape, rate):
  batch, height, width, channels, outputs = shape
  rng = np.random.RandomState(height * width + rate)
  x = rng.randn(batch, height, width, channels).astype(np.float32)
  f = rng.randn(3, 3, channels, outputs).astype(np.float32)
  with tf.Graph().as_default():
    fast = winograd.conv3x3(tf.constant(x), tf.constant(f), rate)
    direct = tf.nn.convolution(x, f, 'SAME', dilation_rate=[rate, rate])
    with tf.Session() as sess:
      fast, direct = sess.run([fast, direct])
  assert fast.shape == direct.shape
  np.testing.assert_allclose(fast, direct, rtol=0,
                             atol=2e-5 * np.abs(direct).max())


@pytest.mark.parametrize('size,channels,rate,expected', [
    (33, (256, 256), 1, True),
    (65, (128, 128), 1, True),
    (33, (512, 512), 2, True),    # 4 sub-maps of 17x17, blocks cover 20x20
    (33, (512, 512), 4, False),   # 16 of 9x9, blocks cover 12x12
    (129, (64, 64), 1, False),    # too few channels for the transforms
    (257, (64, 128), 1, False),
    (33, (2048, 64), 1, False),
])
def test_worth_it_rule(size, channels, rate, expected):
  assert winograd.worth_it(size, size, channels[0], channels[1],
                           rate) is expected


@pytest.mark.skipif(tf_compat.tensorflow_major() < 2,
                    reason='TensorFlow Lite runs on 2.x only')
def test_tensorflow_lite_converts_and_runs_it():
  rng = np.random.RandomState(0)
  x = rng.randn(1, 33, 30, 128).astype(np.float32)
  f = rng.randn(3, 3, 128, 128).astype(np.float32) * 0.03
  results = {}
  for rate in (1, 2):
    with tf.Graph().as_default():
      images = tf.placeholder(tf.float32, x.shape)
      weights = tf.Variable(f)
      y = winograd.conv3x3(images, weights, rate)
      direct = tf.nn.convolution(images, f, 'SAME',
                                 dilation_rate=[rate, rate])
      with tf.Session() as sess:
        sess.run(weights.initializer)
        expected = sess.run(direct, {images: x})
        flatbuffer = tf.lite.TFLiteConverter.from_session(
            sess, [images], [y]).convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]['index'], x)
    interpreter.invoke()
    results[rate] = (interpreter.get_tensor(
        interpreter.get_output_details()[0]['index']), expected)
  for lite, expected in results.values():
    np.testing.assert_allclose(lite, expected, rtol=0,
                               atol=2e-5 * np.abs(expected).max())
