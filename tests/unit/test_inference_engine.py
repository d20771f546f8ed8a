"""The evaluation model's engine: which one runs where, and the TensorFlow
Lite predictor against the same model run in TensorFlow."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core import tf_compat
from li_programs.checkpoints import checkpoint_check
from li_programs.runtime import inference_engine
from li_programs.runtime import session_config
from li_programs.evaluate import tflite_predictor

pytestmark = pytest.mark.tf2

TF2 = tf_compat.tensorflow_major() >= 2
IMAGE_SHAPE = [1, 17, 17, 3]


def test_unknown_engine_is_a_one_line_error():
  with pytest.raises(ValueError, match="inference_engine must be one of "
                     "auto, session, tflite, got 'gpu'"):
    inference_engine.resolve('gpu')


def test_engine_by_tensorflow_version_and_gpu(monkeypatch):
  assert inference_engine.resolve('session') == 'session'
  monkeypatch.setattr(inference_engine, '_gpu_visible', lambda: False)
  if TF2:
    assert inference_engine.tflite_unavailable_reason() is None
    assert inference_engine.resolve('auto') == 'tflite'
    assert inference_engine.resolve('tflite') == 'tflite'
    monkeypatch.setattr(inference_engine, '_gpu_visible', lambda: True)
    assert inference_engine.resolve('auto') == 'session'
    assert inference_engine.resolve('tflite') == 'tflite'
  else:
    assert inference_engine.resolve('auto') == 'session'
    with pytest.raises(ValueError, match=r'inference_engine = tflite: it '
                       r'needs TensorFlow 2\.x \(XNNPACK kernels\); this is '
                       r'TensorFlow 1\.15\.\d+; use session or auto$'):
      inference_engine.resolve('tflite')


def test_auto_chooses_by_the_length_of_the_run(monkeypatch):
  monkeypatch.setattr(inference_engine, '_gpu_visible', lambda: False)
  r50, mnv2 = 'li_resnet_v1_50_beta', 'li_mobilenet_v2'
  for model_variant in (r50, mnv2):
    short = inference_engine.workload(4, model_variant, [513, 513])
    long_ = inference_engine.workload(4000, model_variant, [513, 513])
    engine, why = inference_engine.resolve_with_reason('auto', short)
    assert engine == 'session'
    if TF2:  # TensorFlow Lite could run: auto says why it does not
      assert why.startswith('4 images: the model runs in TensorFlow, as '
                            'TensorFlow Lite repays its conversion from '
                            'about ')
      assert why.endswith(' images of this model; --inference_engine=tflite '
                          'forces it')
    else:
      assert why is None
    assert inference_engine.resolve('auto', long_) == (
        'tflite' if TF2 else 'session')
    # An explicit engine is never second-guessed.
    assert inference_engine.resolve('session', long_) == 'session'
    if TF2:
      assert inference_engine.resolve('tflite', short) == 'tflite'


def test_break_even_follows_the_work_per_image():
  """The conversion is paid once per checkpoint; each image saves in
  proportion to its pixels and passes."""
  def break_even(model_variant, crop=513, scales=(1.0,), flip=False):
    return inference_engine.break_even_images(inference_engine.workload(
        1, model_variant, [crop, crop], scales, flip))
  r50 = break_even('li_resnet_v1_50_beta')
  mnv2 = break_even('mobilenet_v2')
  # ResNets save more per image than MobileNetV2 does.
  assert 40 < r50 < mnv2 < 400
  assert break_even('li_resnet_v1_101_beta') == r50  # same family
  assert break_even('li_resnet_v1_50_beta', scales=(0.5, 1.0, 1.5),
                    flip=True) == pytest.approx(r50 / (2 * 3.5))
  assert break_even('li_resnet_v1_50_beta', crop=257) == pytest.approx(
      r50 * 513 ** 2 / 257 ** 2)
  # docs/performance.md quotes these (LI-R50: 4 and 40 images stay in
  # TensorFlow; the demo's MobileNetV2 at crop 97 needs over 3,000).
  assert (round(r50), round(mnv2)) == (73, 117)
  assert break_even('li_mobilenet_v2', crop=97) > 3000
  no_gain = inference_engine.Costs(1.0, 0.1, 0.1)
  costs = dict(inference_engine.COSTS, resnet=no_gain)
  original = inference_engine.COSTS
  try:
    inference_engine.COSTS = costs
    assert break_even('resnet_v1_50') == float('inf')
  finally:
    inference_engine.COSTS = original


def test_tensorflow_without_an_interpreter(monkeypatch):
  monkeypatch.setattr(inference_engine, 'interpreter_class', lambda: None)
  monkeypatch.setattr(inference_engine, '_gpu_visible', lambda: False)
  assert inference_engine.resolve('auto') == 'session'
  with pytest.raises(ValueError, match='inference_engine = tflite: '):
    inference_engine.resolve('tflite')


def test_interpreter_falls_back_to_ai_edge_litert(monkeypatch):
  """Where TensorFlow drops tf.lite.Interpreter (deprecated since 2.20),
  the interpreter of its successor package is used, when installed."""
  import sys
  import types
  import tensorflow as tf_root
  monkeypatch.setattr(tf_root, 'lite', types.SimpleNamespace())
  monkeypatch.setitem(sys.modules, 'ai_edge_litert', None)  # not installed
  assert inference_engine.interpreter_class() is None
  successor = types.ModuleType('ai_edge_litert.interpreter')
  successor.Interpreter = type('Interpreter', (), {})
  monkeypatch.setitem(sys.modules, 'ai_edge_litert',
                      types.ModuleType('ai_edge_litert'))
  monkeypatch.setitem(sys.modules, 'ai_edge_litert.interpreter', successor)
  assert inference_engine.interpreter_class() is successor.Interpreter


def test_interpreter_threads_follow_intra_op_threads():
  assert inference_engine.interpreter_threads(None) == (
      session_config.available_cpus())
  assert inference_engine.interpreter_threads(0) is None
  assert inference_engine.interpreter_threads(3) == 3


def _tiny_labels(images):
  """A dilated convolution, BatchNorm-free, and the argmax over 5 classes."""
  weights = tf.get_variable(
      'w', [3, 3, 3, 5], initializer=tf.random_normal_initializer(seed=3))
  bias = tf.get_variable(
      'b', [5], initializer=tf.random_normal_initializer(seed=4))
  logits = tf.nn.atrous_conv2d(images, weights, 2, 'SAME') + bias
  return tf.argmax(logits, 3, output_type=tf.int32)


@pytest.fixture
def tiny_checkpoint(tmp_path):
  """(checkpoint, images, labels the model gives them in TensorFlow)."""
  images = np.random.RandomState(0).uniform(
      -1, 1, IMAGE_SHAPE).astype(np.float32)
  with tf.Graph().as_default():
    placeholder = tf.placeholder(tf.float32, IMAGE_SHAPE)
    labels = _tiny_labels(placeholder)
    saver = tf.train.Saver()
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      path = saver.save(sess, os.path.join(str(tmp_path), 'tiny.ckpt'))
      expected = sess.run(labels, {placeholder: images})
  assert len(np.unique(expected)) > 1
  return path, images, expected


def _other_labels(images):
  """A model whose variable does not fit the tiny checkpoint."""
  tf.get_variable('w', [3, 3, 3, 7])
  return tf.zeros([1, 17, 17], tf.int32)


def _predictor(fall_back=False, notes=None, in_child=False,
               build_labels=_tiny_labels):
  return tflite_predictor.TflitePredictor(
      build_labels, IMAGE_SHAPE, tf.float32, num_threads=1,
      fall_back=fall_back, note=None if notes is None else notes.append,
      in_child=in_child)


@pytest.mark.skipif(not TF2, reason='TensorFlow Lite runs under 2.x only '
                    '(resolve refuses it under 1.15, tested above)')
def test_converted_model_gives_the_labels_of_tensorflow(tiny_checkpoint):
  path, images, expected = tiny_checkpoint
  predictor = _predictor()
  predictor.restore(path)
  np.testing.assert_array_equal(predictor.predict(images), expected)
  predictor.restore(path)  # validate.py: one conversion per checkpoint
  np.testing.assert_array_equal(predictor.predict(images), expected)


@pytest.mark.slow
@pytest.mark.skipif(not TF2, reason='TensorFlow Lite runs under 2.x only')
def test_conversion_in_a_child_process(tiny_checkpoint, tmp_path):
  """The programs convert in a child process: this one never builds the
  model, yet predicts its labels; the child's checkpoint errors come back
  as the same one-line errors."""
  import resource
  path, images, expected = tiny_checkpoint
  predictor = _predictor(in_child=True)
  assert predictor.in_child
  before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
  predictor.restore(path)
  assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime > before
  assert predictor._graph is None
  np.testing.assert_array_equal(predictor.predict(images), expected)
  other = _predictor(in_child=True, build_labels=_other_labels)
  with pytest.raises(checkpoint_check.CheckpointMismatch,
                     match=r'^checkpoint %s does not fit the model: '
                     % path):
    other.restore(path)
  # A model that cannot be pickled is converted in this process.
  assert not _predictor(in_child=True,
                        build_labels=lambda x: _tiny_labels(x)).in_child


def _failing_convert(self, checkpoint, config_file):
  raise tflite_predictor.ConversionError(
      'TensorFlow Lite could not convert the model: op Foo unsupported')


def test_failed_conversion_falls_back_to_tensorflow(tiny_checkpoint,
                                                   monkeypatch):
  path, images, expected = tiny_checkpoint
  monkeypatch.setattr(tflite_predictor.TflitePredictor, '_convert',
                      _failing_convert)
  notes = []
  predictor = _predictor(fall_back=True, notes=notes)
  predictor.restore(path)
  assert notes == ['note: TensorFlow Lite could not convert the model: op '
                   'Foo unsupported; the model runs in TensorFlow instead']
  np.testing.assert_array_equal(predictor.predict(images), expected)
  predictor.close()
  with pytest.raises(tflite_predictor.ConversionError, match='op Foo'):
    _predictor(fall_back=False).restore(path)


@pytest.mark.skipif(not TF2, reason='the converter of TensorFlow 2.x')
def test_converter_errors_become_one_line(tiny_checkpoint, monkeypatch):
  def fail(self):
    raise RuntimeError('\n  first line of the reason\nsecond line\n')
  monkeypatch.setattr(tf.lite.TFLiteConverter, 'convert', fail)
  with pytest.raises(tflite_predictor.ConversionError) as err:
    _predictor().restore(tiny_checkpoint[0])
  assert str(err.value) == ('TensorFlow Lite could not convert the model: '
                            'first line of the reason')


def test_restore_errors_and_predict_before_restore(tmp_path):
  predictor = _predictor()
  with pytest.raises(RuntimeError, match='before restore'):
    predictor.predict(np.zeros(IMAGE_SHAPE, np.float32))
  with pytest.raises(checkpoint_check.CheckpointError):
    predictor.restore(os.path.join(str(tmp_path), 'missing.ckpt'))
