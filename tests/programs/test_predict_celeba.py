"""predict.py gives test.py's labels, and the exports give predict.py's, on
the four CelebAMask-HQ samples of ../shared/testdata.

predict.py reads the raw 1024x1024 JPEGs as they are.  test.py needs
records with labels of the image's size, so the samples' 512x512 label maps
are enlarged by pixel replication (lossless) and the pairs written with
dataset_generation/build_folder_dataset.py.  Both programs then score the
same pixels: predict.py's label maps must give test.py's confusion matrix
exactly, under every inference engine this TensorFlow has.  The three
exports (SavedModel, frozen graph, TensorFlow Lite) must give predict.py's
labels on the same images.  The weights are random (seeded) with batch-norm
statistics estimated on the samples; the model is a half-width
LI-MobileNetV2 + LI-ASPP at test.py's size for these images, 1025x1025.
"""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from PIL import Image

from helpers import programs as h
from helpers.paths import REPO_ROOT, SHARED_DIR
from libs.core import tf_compat
from li_programs.config import cli
from li_programs.evaluate import metrics
from li_programs.report import prediction_files
from li_programs.commands import predict as predict_program

SAMPLES = os.path.join(SHARED_DIR, 'testdata', 'celebamask_hq_samples')
pytestmark = [pytest.mark.slow, pytest.mark.tf2, pytest.mark.needs_shared]

CONFIG = """\
[data]
dataset = celeba_mask
dataset_dir = {dataset_dir}
train_split = val
val_split = val
test_split = val
snapshot_root = {snapshot_root}

[model]
model_variant = li_mobilenet_v2
dpn_variant = li_aspp
depth_multiplier = 0.5

[lateral_inhibition]
li_weight_initilizer_min_max = 0.0,0.3
li_backbone_option_mnv2 = f

[train]
atrous_rates = 6,12,18

[val]
eval_crop_size = 1025,1025
atrous_rates = 6,12,18

[test]
eval_crop_size = 1025,1025
atrous_rates = 6,12,18
"""


def _engines():
  return ['session'] + (['tflite'] if tf_compat.tensorflow_major() >= 2
                        else [])


@pytest.fixture(scope='module')
def celeba(tmp_path_factory):
  from dataset_generation import build_folder_dataset
  root = str(tmp_path_factory.mktemp('celeba'))
  images, labels, lists = [os.path.join(root, 'raw', d)
                           for d in ('images', 'labels', 'lists')]
  for folder in (images, labels, lists):
    os.makedirs(folder)
  names = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(SAMPLES, '*.jpg')))
  assert len(names) == 4
  truth = {}
  for name in names:
    shutil.copy(os.path.join(SAMPLES, name + '.jpg'), images)
    width, height = Image.open(os.path.join(images, name + '.jpg')).size
    label = np.asarray(Image.open(os.path.join(SAMPLES, name + '.png')))
    factor = height // label.shape[0]
    assert (height, width) == (label.shape[0] * factor,
                               label.shape[1] * factor) == (1024, 1024)
    truth[name] = label.repeat(factor, 0).repeat(factor, 1)
    Image.fromarray(truth[name]).save(os.path.join(labels, name + '.png'))
  with open(os.path.join(lists, 'val.txt'), 'w') as f:
    f.write('\n'.join(names) + '\n')
  records = os.path.join(root, 'records')
  assert build_folder_dataset.main([
      '--image_dir', images, '--label_dir', labels, '--list_dir', lists,
      '--output_dir', records, '--num_classes', '19',
      '--ignore_label', '255']) == 0
  config = h.write_config(os.path.join(root, 'cfg', 'celeba.ini'), records,
                          os.path.join(root, 'snap'), text=CONFIG)
  checkpoint = h.save_model_checkpoint(
      config, os.path.join(root, 'ckpt', 'model.ckpt'), global_step=1)
  # Batch-norm statistics of these images, so that the random network
  # labels them with many classes rather than one.
  from tools import recalibrate_bn
  assert recalibrate_bn.main([
      '--config_file', config, '--checkpoint_path', checkpoint,
      '--num_batches', '2', '--train_batch_size=2',
      '--train_crop_size=513,513', '--min_scale_factor=1',
      '--max_scale_factor=1', '--random_seed=0']) == 0
  return dict(root=root, images=images, names=names, truth=truth,
              config=config, checkpoint=checkpoint)


def _predict(celeba, engine):
  out = os.path.join(celeba['root'], 'predict_' + engine)
  if not os.path.isdir(out):
    assert predict_program.run([
        '--config_file', celeba['config'], '--checkpoint_path',
        celeba['checkpoint'], '--images', celeba['images'], '--output_dir',
        out, '--inference_engine', engine]) == 0
  return {n: np.asarray(Image.open(os.path.join(out, n + '.png')))
          for n in celeba['names']}


def _test_hist(celeba, engine):
  out = os.path.join(celeba['root'], 'test_' + engine)
  test_prog = h.load_program('test')
  assert cli.run_program('test.py', test_prog.main, [
      '--config_file', celeba['config'], '--checkpoint_path',
      celeba['checkpoint'], '--test_resdir', out,
      '--inference_engine', engine]) == 0
  return scipy.io.loadmat(os.path.join(out, 'test_result.mat'))['hist_total']


@pytest.mark.parametrize('engine', _engines())
def test_predict_labels_give_test_py_confusion_matrix(celeba, engine):
  predicted = _predict(celeba, engine)
  hist = np.zeros((19, 19), np.int64)
  for name in celeba['names']:
    assert predicted[name].shape == (1024, 1024)
    assert predicted[name].dtype == np.uint8
    hist += metrics.confusion_matrix(celeba['truth'][name], predicted[name],
                                     19, 255)
  reference = _test_hist(celeba, engine)
  assert hist.sum() == reference.sum() == 4 * 1024 * 1024
  # Random weights still label the faces with several classes.
  assert (hist.sum(axis=0) > 0).sum() >= 3
  np.testing.assert_array_equal(hist, reference)


def _decoded(celeba):
  decoder = prediction_files.ImageDecoder()
  try:
    return {n: decoder.decode(os.path.join(celeba['images'], n + '.jpg'))
            for n in celeba['names']}
  finally:
    decoder.close()


def _saved_model_labels(path, images):
  import tensorflow.compat.v1 as tf
  graph = tf.Graph()
  with graph.as_default(), tf.Session(graph=graph) as sess:
    meta = tf.saved_model.loader.load(sess, ['serve'], path)
    signature = meta.signature_def['serving_default']
    inputs = signature.inputs['image']
    outputs = signature.outputs['labels']
    assert inputs.dtype == tf.uint8.as_datatype_enum
    assert outputs.dtype == tf.int32.as_datatype_enum
    return {n: sess.run(outputs.name, {inputs.name: image[None]})[0]
            for n, image in images.items()}


def _frozen_labels(path, images):
  import tensorflow.compat.v1 as tf
  graph_def = tf.GraphDef()
  with open(path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  graph = tf.Graph()
  with graph.as_default():
    tf.import_graph_def(graph_def, name='')
  with tf.Session(graph=graph) as sess:
    # DeepLab's demo feeds ImageTensor:0 and reads SemanticPredictions:0.
    return {n: sess.run('SemanticPredictions:0',
                        {'ImageTensor:0': image[None]})[0]
            for n, image in images.items()}


def _tflite_labels(path, images):
  from li_programs.runtime import inference_engine
  interpreter = inference_engine.interpreter_class()(model_path=path)
  found = {}
  for name, image in images.items():
    index = interpreter.get_input_details()[0]['index']
    interpreter.resize_tensor_input(index, [1] + list(image.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, image[None])
    interpreter.invoke()
    found[name] = interpreter.get_tensor(
        interpreter.get_output_details()[0]['index'])[0]
  return found


def test_exports_give_predict_labels(celeba):
  from tools import export_model
  out = os.path.join(celeba['root'], 'export')
  assert cli.run_program('export_model.py', export_model.main, [
      '--config_file', celeba['config'], '--checkpoint_path',
      celeba['checkpoint'], '--output_dir', out]) == 0
  images = _decoded(celeba)
  exported = {'saved_model': (_saved_model_labels(
      os.path.join(out, 'saved_model'), images), 'session'),
              'frozen': (_frozen_labels(
                  os.path.join(out, 'frozen_inference_graph.pb'), images),
                         'session')}
  if tf_compat.tensorflow_major() >= 2:
    exported['tflite'] = (_tflite_labels(os.path.join(out, 'model.tflite'),
                                         images), 'tflite')
  else:
    assert not os.path.exists(os.path.join(out, 'model.tflite'))
  for form, (labels, engine) in sorted(exported.items()):
    predicted = _predict(celeba, engine)
    for name in celeba['names']:
      assert labels[name].dtype == np.int32, form
      np.testing.assert_array_equal(labels[name], predicted[name],
                                    err_msg='%s, %s' % (form, name))
  # A smaller image of any size goes through the same export too.
  crop = images[celeba['names'][0]][100:500, 200:733]
  small = _frozen_labels(os.path.join(out, 'frozen_inference_graph.pb'),
                         {'crop': crop})['crop']
  assert small.shape == (400, 533)


@pytest.mark.skipif(tf_compat.tensorflow_major() < 2,
                    reason='the TF2 SavedModel API')
def test_saved_model_serves_in_tensorflow_2_eager(celeba, tmp_path):
  from tools import export_model
  out = str(tmp_path / 'export')
  assert cli.run_program('export_model.py', export_model.main, [
      '--config_file', celeba['config'], '--checkpoint_path',
      celeba['checkpoint'], '--output_dir', out,
      '--formats', 'saved_model']) == 0
  name = celeba['names'][1]
  script = (
      'import sys, numpy as np, tensorflow as tf\n'
      'from PIL import Image\n'
      'image = tf.io.decode_jpeg(tf.io.read_file(sys.argv[2]), channels=3)\n'
      'serve = tf.saved_model.load(sys.argv[1]).signatures['
      '"serving_default"]\n'
      'labels = serve(image=image[None])["labels"].numpy()[0]\n'
      'np.save(sys.argv[3], labels)\n')
  result = str(tmp_path / 'labels.npy')
  subprocess.run([sys.executable, '-c', script, os.path.join(out,
                                                             'saved_model'),
                  os.path.join(celeba['images'], name + '.jpg'), result],
                 check=True, cwd=REPO_ROOT, timeout=600,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  np.testing.assert_array_equal(np.load(result),
                                _predict(celeba, 'session')[name])
