"""predict.py and the Predictor API on the synthetic shapes set.

Images larger than test.py's crop get test.py's labels at a larger crop;
grey, RGBA and BMP files are read; colour maps and overlays match the
labels; a resizing config gives labels at the image's own size; the
Predictor gives predict.py's labels; bad input is a one-line error.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from PIL import Image

from helpers import programs as h
from helpers.paths import REPO_ROOT
from libs.datasets import dataset_classes
from li_programs.config import cli
from li_programs.evaluate import metrics
from li_programs.commands import predict as predict_program
from li_programs.predictor import Predictor

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

HEIGHT, WIDTH = 100, 80  # larger than the 65x65 crop of the tiny config


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  from dataset_generation import build_folder_dataset
  from dataset_generation import make_synthetic_shapes
  from tools import recalibrate_bn
  root = str(tmp_path_factory.mktemp('predict'))
  raw = os.path.join(root, 'raw')
  make_synthetic_shapes.write_dataset(raw, 2, 3, HEIGHT, WIDTH, seed=5)
  records = os.path.join(root, 'records')
  assert build_folder_dataset.main([
      '--image_dir', os.path.join(raw, 'JPEGImages'),
      '--label_dir', os.path.join(raw, 'SegmentationClass'),
      '--list_dir', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--output_dir', records]) == 0
  config = h.write_config(os.path.join(root, 'cfg', 'tiny.ini'), records,
                          os.path.join(root, 'snap'))
  checkpoint = h.save_model_checkpoint(
      config, os.path.join(root, 'ckpt', 'model.ckpt'), global_step=3)
  assert recalibrate_bn.main([
      '--config_file', config, '--checkpoint_path', checkpoint,
      '--num_batches', '1', '--random_seed=0']) == 0
  h.spread_logits(checkpoint)
  names = sorted(n for n in os.listdir(os.path.join(raw, 'JPEGImages'))
                 if n.startswith('val'))
  return dict(root=root, raw=raw, config=config, checkpoint=checkpoint,
              images=[os.path.join(raw, 'JPEGImages', n) for n in names])


def _predict(env, out, images, *flags):
  return predict_program.run(['--config_file', env['config'],
                              '--checkpoint_path', env['checkpoint'],
                              '--images', images, '--output_dir', out] +
                             list(flags))


def test_images_larger_than_the_crop_get_test_py_labels(env):
  out = os.path.join(env['root'], 'large')
  assert _predict(env, out, os.path.join(env['raw'], 'JPEGImages',
                                         'val_*.jpg')) == 0
  hist = np.zeros((5, 5), np.int64)
  for path in env['images']:
    name = os.path.splitext(os.path.basename(path))[0]
    labels = np.asarray(Image.open(os.path.join(out, name + '.png')))
    assert labels.shape == (HEIGHT, WIDTH)
    truth = np.asarray(Image.open(os.path.join(
        env['raw'], 'SegmentationClass', name + '.png')))
    hist += metrics.confusion_matrix(truth, labels, 5, 255)
  # predict.py padded 100x80 to 113x81 (k * 16 + 1); test.py at that crop
  # must agree pixel for pixel.
  test_prog = h.load_program('test')
  result = os.path.join(env['root'], 'test_113')
  assert cli.run_program('test.py', test_prog.main, [
      '--config_file', env['config'], '--checkpoint_path', env['checkpoint'],
      '--eval_crop_size=113,81', '--test_resdir', result]) == 0
  reference = scipy.io.loadmat(os.path.join(result, 'test_result.mat'))
  np.testing.assert_array_equal(hist, reference['hist_total'])
  assert (hist.sum(axis=0) > 0).sum() >= 2
  record = json.load(open(os.path.join(out, 'run.json')))
  assert record['program'] == 'predict.py' and record['exit_status'] == 0
  assert record['settings']['num_images'] == 3
  assert record['settings']['checkpoint'] == env['checkpoint']


def test_colour_maps_and_overlays_follow_the_labels(env):
  out = os.path.join(env['root'], 'colours')
  assert _predict(env, out, env['images'][0]) == 0
  name = os.path.splitext(os.path.basename(env['images'][0]))[0]
  labels = np.asarray(Image.open(os.path.join(out, name + '.png')))
  colours = np.asarray(Image.open(os.path.join(out, 'color', name + '.png')))
  palette = dataset_classes.palette('synthetic_shapes', 5)
  np.testing.assert_array_equal(colours, palette[labels])
  overlay = Image.open(os.path.join(out, 'overlay', name + '.jpg'))
  assert overlay.format == 'JPEG' and overlay.size == (WIDTH, HEIGHT)
  image = np.asarray(Image.open(env['images'][0]), np.float32)
  expected = 0.5 * image + 0.5 * palette[labels]
  assert np.abs(np.asarray(overlay, np.float32) - expected).mean() < 4


def test_grey_rgba_and_bmp_files_are_read_as_rgb(env, tmp_path):
  rgb = np.asarray(Image.open(env['images'][1]))
  folder = tmp_path / 'in'
  folder.mkdir()
  Image.fromarray(rgb).save(str(folder / 'plain.png'))
  Image.fromarray(rgb).save(str(folder / 'plain.bmp'))
  alpha = np.random.RandomState(0).randint(0, 256, rgb.shape[:2], np.uint8)
  Image.fromarray(np.dstack([rgb, alpha])).save(str(folder / 'alpha.png'))
  grey = np.asarray(Image.fromarray(rgb).convert('L'))
  Image.fromarray(grey).save(str(folder / 'grey.png'))
  (folder / 'broken.jpg').write_bytes(b'not an image')
  (folder / 'notes.txt').write_text('skipped: not an image name')
  out = str(tmp_path / 'out')
  command = [sys.executable, os.path.join(REPO_ROOT, 'predict.py'),
             '--config_file', env['config'], '--checkpoint_path',
             env['checkpoint'], '--images', str(folder), '--output_dir', out]
  result = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=600, cwd=str(tmp_path))
  assert result.returncode == 1, result.stderr[-2000:]
  errors = [l for l in result.stderr.splitlines()
            if l.startswith('predict.py: error')]
  assert len(errors) == 2, result.stderr
  assert errors[0].startswith('predict.py: error: cannot decode ')
  assert 'broken.jpg' in errors[0] and 'skipped' in errors[0]
  assert errors[-1] == ('predict.py: error: 1 image(s) could not be read: '
                        '%s' % (folder / 'broken.jpg'))
  assert '4 image(s) labelled' in result.stdout
  # plain.png and plain.bmp share a stem: both keep their extension.
  read = {n: np.asarray(Image.open(os.path.join(out, n + '.png')))
          for n in ('plain.png', 'plain.bmp', 'alpha', 'grey')}
  read['plain'] = read.pop('plain.png')
  np.testing.assert_array_equal(read['alpha'], read['plain'])
  np.testing.assert_array_equal(read['plain.bmp'], read['plain'])
  with Predictor.from_config(env['config'], env['checkpoint']) as predictor:
    np.testing.assert_array_equal(predictor.predict(np.dstack([grey] * 3)),
                                  read['grey'])
    np.testing.assert_array_equal(predictor.predict(grey), read['grey'])


def test_predictor_api_gives_predict_py_labels(env):
  flags = ['--eval_scales=0.75,1.0', '--add_flipped_images']
  out = os.path.join(env['root'], 'scales')
  assert _predict(env, out, env['images'][2], *flags) == 0
  name = os.path.splitext(os.path.basename(env['images'][2]))[0]
  expected = np.asarray(Image.open(os.path.join(out, name + '.png')))
  image = np.asarray(Image.open(env['images'][2]).convert('RGB'))
  with Predictor.from_config(env['config'], env['checkpoint'],
                             eval_scales=[0.75, 1.0],
                             add_flipped_images=True) as predictor:
    assert predictor.class_names == dataset_classes.SYNTHETIC_SHAPES_CLASSES
    assert predictor.eval_scales == [0.75, 1.0]
    # PIL and TensorFlow may decode a JPEG differently: compare on the
    # pixels TensorFlow decoded, as predict.py does.
    from li_programs.report import prediction_files
    decoder = prediction_files.ImageDecoder()
    decoded = decoder.decode(env['images'][2])
    decoder.close()
    labels = predictor.predict(decoded)
    assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
    np.testing.assert_array_equal(labels, expected)
    with pytest.raises(ValueError, match='needs uint8 pixels'):
      predictor.predict(image.astype(np.float32))
    with pytest.raises(ValueError, match='needs an HxWx3 image'):
      predictor.predict(np.zeros((4, 4, 2), np.uint8))


def test_a_resizing_config_labels_at_the_images_own_size(env, tmp_path):
  out = str(tmp_path / 'resized')
  assert _predict(env, out, env['images'][0], '--min_resize_value=40',
                  '--max_resize_value=40') == 0
  name = os.path.splitext(os.path.basename(env['images'][0]))[0]
  labels = np.asarray(Image.open(os.path.join(out, name + '.png')))
  assert labels.shape == (HEIGHT, WIDTH)


@pytest.mark.parametrize('args,message', [
    (['--output_dir', 'x'], '--images is required'),
    (['--images', 'nothing/here/*.png', '--output_dir', 'x'],
     '--images: no file, folder or glob match for nothing/here/*.png'),
    (['--images', '.', '--output_dir', 'x'], 'holds no jpg/jpeg/png/bmp/gif'),
    (['--images'], '--images needs a value'),
    (['-images', '-output_dir', 'x'], '--images needs a value'),
])
def test_bad_command_lines_are_one_line_errors(env, tmp_path, args, message,
                                               capsys):
  os.chdir(str(tmp_path))
  status = predict_program.run(['--config_file', env['config'],
                                '--checkpoint_path', env['checkpoint']] +
                               args)
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1].startswith('predict.py: error: ') and message in err[-1]


def test_help_and_the_runner(env, tmp_path):
  text = predict_program.help_text()
  assert text.startswith('usage: predict.py --config_file FILE.ini --images')
  assert '--eval_scales' in text and '--inference_engine' in text
  runner = os.path.join(REPO_ROOT, 'runners', 'predict.sh')
  helped = subprocess.run(['bash', runner, '--help'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True)
  assert 'bash runners/predict.sh CONFIG.ini IMAGES OUTPUT_DIR' in \
      helped.stdout
  out = str(tmp_path / 'runner')
  result = subprocess.run(
      ['bash', runner, env['config'], env['images'][0], out,
       '--checkpoint_path=' + env['checkpoint'],
       '--inference_engine=session'], stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  assert os.path.isfile(os.path.join(out, 'val_00000.png'))


def _doc_blocks():
  with open(os.path.join(REPO_ROOT, 'docs', 'predict_and_export.md')) as f:
    import re
    return re.findall(r'```python\n(.*?)```', f.read(), re.S)


def test_the_python_examples_of_the_docs_run(env, tmp_path):
  """docs/predict_and_export.md's examples, verbatim, in a folder holding
  the files they name; their labels are the Predictor's."""
  from libs.core import tf_compat
  from li_programs.report import prediction_files
  from tools import export_model
  work = tmp_path / 'work'
  work.mkdir()
  assert cli.run_program('export_model.py', export_model.main, [
      '--config_file', env['config'], '--checkpoint_path', env['checkpoint'],
      '--output_dir', str(work / 'exported')]) == 0
  picture = np.asarray(Image.open(env['images'][0]))[10:70, 5:55]
  for name in ('photo.jpg', 'face.jpg'):
    Image.fromarray(picture).save(str(work / name))
  celeba = os.path.join(REPO_ROOT, 'config', 'CelebAMask_HQ',
                        'liMnv2_liAspp.ini')
  h.save_model_checkpoint(celeba, str(work / 'model.ckpt'), global_step=1000)
  pil_image = np.asarray(Image.open(str(work / 'photo.jpg')).convert('RGB'))
  decoder = prediction_files.ImageDecoder()
  tf_image = decoder.decode(str(work / 'photo.jpg'))
  decoder.close()
  expected = {}
  engines = ['session'] + (['tflite'] if tf_compat.tensorflow_major() >= 2
                           else [])
  for engine in engines:
    with Predictor.from_config(env['config'], env['checkpoint'],
                               inference_engine=engine) as predictor:
      expected[engine] = (predictor.predict(pil_image),
                          predictor.predict(tf_image))
  blocks = _doc_blocks()
  assert len(blocks) == 4
  ran = 0
  for block in blocks:
    tf2_only = 'tf.saved_model.load(' in block or 'tf.lite.' in block
    if tf2_only and tf_compat.tensorflow_major() < 2:
      continue
    code = block + ('\nimport numpy\nnumpy.save("labels.npy", labels)\n')
    result = subprocess.run(
        [sys.executable, '-c', code], cwd=str(work), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL='2'))
    assert result.returncode == 0, (block, result.stderr[-3000:])
    labels = np.load(str(work / 'labels.npy'))
    assert labels.shape == picture.shape[:2], block
    if 'Predictor' in block:
      assert "'background'" in result.stdout or 'skin' in result.stdout
    elif 'tf.lite.' in block:
      np.testing.assert_array_equal(labels, expected['tflite'][0])
    elif 'decode_jpeg' in block:
      np.testing.assert_array_equal(labels, expected['session'][1])
    else:
      np.testing.assert_array_equal(labels, expected['session'][0])
    ran += 1
  assert ran == (4 if tf_compat.tensorflow_major() >= 2 else 2)


def test_an_image_larger_than_the_export_size_names_it(env, tmp_path):
  import tensorflow.compat.v1 as tf
  from li_programs.evaluate import model_export
  from li_programs.config import config as config_lib
  cfg = config_lib.load_config(env['config'], 'test', notify=None)
  graph = tf.Graph()
  with graph.as_default():
    image, labels = model_export.build_export_graph(cfg, 5, [65, 65])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      assert sess.run(labels, {image: np.zeros((1, 40, 65, 3), np.uint8)}
                      ).shape == (1, 40, 65)
      with pytest.raises(tf.errors.InvalidArgumentError,
                         match='image larger than the export size 65x65'):
        sess.run(labels, {image: np.zeros((1, 66, 30, 3), np.uint8)})


def test_predict_figure_draws_the_outputs(env, tmp_path):
  from tools import predict_figure
  out = str(tmp_path / 'pred')
  assert _predict(env, out, os.path.join(env['raw'], 'JPEGImages',
                                         'val_0000[01].jpg')) == 0
  figure = str(tmp_path / 'figure.png')
  assert cli.run_program('predict_figure.py', predict_figure.main, [
      '--config_file', env['config'], '--predictions', out,
      '--output', figure]) == 0
  width, height = Image.open(figure).size
  assert width > 600 and height > 400  # two rows of three panels
  assert cli.run_program('predict_figure.py', predict_figure.main, [
      '--config_file', env['config'], '--predictions', out, '--names',
      'val_00002', '--output', figure]) == 2
