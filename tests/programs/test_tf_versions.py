"""TensorFlow 1.15 and 2.x side by side: checkpoints and test results agree.

Runs the programs under both virtual environments, ``.venv`` (TensorFlow
1.15) and ``.venv-tf2`` (``make setup TF=2``):

* a checkpoint written by ``train.py`` under 2.x resumes under 1.15, and the
  one 1.15 writes then resumes under 2.x;
* ``test.py`` gives the same confusion matrix under both: on the four
  CelebAMask-HQ samples of ``../shared/testdata`` with fixed weights (under
  2.x in TensorFlow, which the default engine picks for four images, and in
  TensorFlow Lite), and on the synthetic set with the weights trained
  above.

Skipped when either environment is missing, except under CI (``CI`` set),
which must run them.
"""
import os
import subprocess

import numpy as np
import pytest
import scipy.io

from helpers import programs as h
from helpers.paths import REPO_ROOT, SHARED_DIR

PYTHONS = {'tf1': os.path.join(REPO_ROOT, '.venv', 'bin', 'python'),
           'tf2': os.path.join(REPO_ROOT, '.venv-tf2', 'bin', 'python')}
CELEBA_SAMPLES = os.path.join(SHARED_DIR, 'testdata', 'celebamask_hq_samples')
# LI-MNV2 + LI-ASPP, and LI-ResNet-50 + LI-ASPP + decoder, whose 3x3
# layers TensorFlow Lite computes by Winograd with winograd = true
# (libs/core/winograd.py).
CELEBA_CONFIGS = ('liMnv2_liAspp', 'liResnet50_liAspp_dcd')
# Largest L1 distance allowed between the two normalised confusion matrices
# (a fraction of the pixels that may flip class between the two builds).
MAX_L1 = 1e-3

_missing = [p for p in PYTHONS.values() if not os.access(p, os.X_OK)]
if _missing and os.environ.get('CI'):
  raise RuntimeError('CI must run the TensorFlow 1.15 / 2.x comparison, but '
                     '%s is missing: run `make setup` and `make setup TF=2` '
                     'first' % ', '.join(_missing))
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    bool(_missing), reason='needs both .venv and .venv-tf2 (missing: %s)'
    % ', '.join(_missing))]


def _run(version, args, cwd):
  """Runs a repository program under ``version``'s interpreter."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run([PYTHONS[version]] + args, cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        universal_newlines=True, timeout=900)
  assert proc.returncode == 0, '%s %s failed:\n%s' % (
      version, ' '.join(args), proc.stdout[-3000:])
  return proc.stdout


def _version_of(version):
  return _run(version, ['-c', 'import tensorflow as tf; '
                        'print(tf.__version__)'], REPO_ROOT).split()[-1]


def _checkpoint_shapes(path):
  import tensorflow.compat.v1 as tf
  return tf.train.load_checkpoint(path).get_variable_to_shape_map()


def _test_py_histogram(version, args, snapshot_root, config_name, ckpt_dir):
  _run(version, [os.path.join(REPO_ROOT, 'test.py')] + args +
       ['--snapshot_root', snapshot_root], REPO_ROOT)
  result = os.path.join(snapshot_root, config_name, 'test', ckpt_dir,
                        'eval_scale_1.0', 'test_result.mat')
  return scipy.io.loadmat(result)['hist_total'].astype(np.float64)


def _l1(hist_a, hist_b):
  assert hist_a.sum() == hist_b.sum() > 0
  return np.abs(hist_a - hist_b).sum() / hist_a.sum()


def test_both_environments_hold_the_expected_tensorflow():
  assert _version_of('tf1') == '1.15.5'
  assert _version_of('tf2').startswith('2.')


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('tf_versions'))
  _, _, config = h.synthetic_setup(root)
  return root, config


def test_checkpoints_resume_across_versions(synthetic):
  root, config = synthetic
  train = [os.path.join(REPO_ROOT, 'train.py'), '--config_file', config,
           '--num_clones=1', '--save_checkpoint_steps=1']
  train_dir = os.path.join(root, 'snap', 'tiny', 'train')

  out = _run('tf2', train + ['--training_number_of_steps=2'], root)
  assert 'step 2: loss' in out
  out = _run('tf1', train + ['--training_number_of_steps=3'], root)
  assert 'Resuming from %s/model.ckpt-2' % train_dir in out
  assert 'step 3: loss' in out and 'step 2:' not in out
  out = _run('tf2', train + ['--training_number_of_steps=4'], root)
  assert 'Resuming from %s/model.ckpt-3' % train_dir in out
  assert 'step 4: loss' in out and 'step 3:' not in out

  shapes = [_checkpoint_shapes(os.path.join(train_dir, 'model.ckpt-%d' % s))
            for s in (2, 3, 4)]
  assert shapes[0] == shapes[1] == shapes[2]
  assert any(n.endswith('/BatchNorm/moving_mean') for n in shapes[0])

  # The weights trained under both versions test the same under both.
  args = ['--config_file', config, '--checkpoint_path',
          os.path.join(train_dir, 'model.ckpt-4')]
  hists = {v: _test_py_histogram(v, args, os.path.join(root, 'test_' + v),
                                 'tiny', 'model.ckpt-4')
           for v in PYTHONS}
  assert _l1(hists['tf1'], hists['tf2']) <= MAX_L1


def _build_celeba_samples(root):
  """The four CelebAMask-HQ samples as a ``test`` split of TFRecords:
  images resized to their 512x512 labels (as the dataset builder does) and
  stored as PNG, so both TensorFlow versions decode the same pixels."""
  import cv2
  from dataset_generation import build_voc2012_data

  images, lists = os.path.join(root, 'images'), os.path.join(root, 'lists')
  os.makedirs(images)
  os.makedirs(lists)
  names = []
  for k in range(4):
    image = cv2.imread(os.path.join(CELEBA_SAMPLES, '%d.jpg' % k))
    image = cv2.resize(image, (512, 512), interpolation=cv2.INTER_LINEAR)
    cv2.imwrite(os.path.join(images, '%d.png' % k), image)
    names.append(str(k))
  with open(os.path.join(lists, 'test.txt'), 'w') as f:
    f.write('\n'.join(names) + '\n')
  records = os.path.join(root, 'tfrecord')
  assert not build_voc2012_data.main([
      '--image_folder', images, '--semantic_segmentation_folder',
      CELEBA_SAMPLES, '--list_folder', lists, '--image_format', 'png',
      '--output_dir', records, '--num_shards', '1'])
  return records


def _celeba_config(name):
  return os.path.join(REPO_ROOT, 'config', 'CelebAMask_HQ', name + '.ini')


def _write_fixed_weights(config_file, path):
  """A CelebAMask-HQ checkpoint of ``config_file`` with seeded numpy weights
  (He-scaled convolutions, LI weights in [0, 0.3], and BatchNorm statistics
  and parameters away from 0 / 1, so that folding them is exercised)."""
  import tensorflow.compat.v1 as tf
  from li_models import model
  from li_programs.config import config as config_lib
  from li_models import model_config

  cfg = config_lib.load_config(config_file, 'test')
  options = model_config.model_options_from_config(cfg, 19, [513, 513])
  rng = np.random.RandomState(7)
  with tf.Graph().as_default():
    model.predict_labels(tf.placeholder(tf.float32, [1, 513, 513, 3]),
                         options)
    assigns = []
    for var in tf.global_variables():
      name, shape = var.op.name, var.shape.as_list()
      if name.endswith(('moving_variance', 'gamma')):
        value = rng.uniform(0.5, 2.0, shape)
      elif name.endswith(('moving_mean', 'beta')):
        value = rng.randn(*shape) * 0.1
      elif name.endswith('li_weights'):
        value = rng.uniform(0.0, 0.3, shape)
      elif name.endswith('weights'):
        fan_in = np.prod(shape[:-1]) if 'depthwise' not in name else \
            np.prod(shape[:2])
        value = rng.randn(*shape) * np.sqrt(2.0 / fan_in)
      elif name == 'logits/semantic/biases':
        value = rng.randn(*shape) * 0.1
      else:
        value = np.zeros(shape)
      assigns.append(tf.assign(var, value.astype(np.float32)))
    with tf.Session() as sess:
      sess.run(assigns)
      return tf.train.Saver().save(sess, path)


@pytest.fixture(scope='module')
def celeba_records(tmp_path_factory):
  return _build_celeba_samples(str(tmp_path_factory.mktemp('celeba')))


@pytest.mark.needs_shared
@pytest.mark.parametrize('config_name', CELEBA_CONFIGS)
def test_test_py_confusion_matrices_agree_on_shared_samples(
    celeba_records, config_name, tmp_path):
  config_file = _celeba_config(config_name)
  ckpt = _write_fixed_weights(config_file,
                              str(tmp_path / 'fixed' / 'model.ckpt'))
  args = ['--config_file', config_file, '--dataset_dir', celeba_records,
          '--checkpoint_path', ckpt]
  hists = {v: _test_py_histogram(v, args, str(tmp_path / v), config_name,
                                 'model.ckpt')
           for v in PYTHONS}
  # Four images are too few to repay a conversion: the default engine ran
  # the model in TensorFlow; TensorFlow Lite, with and without Winograd,
  # must give the same labels.
  runs = {'tf2_tflite': ['--inference_engine=tflite']}
  if 'Resnet' in config_name:  # MobileNetV2 has no layer Winograd takes
    runs['tf2_winograd'] = ['--inference_engine=tflite', '--winograd=true']
  for name, flags in runs.items():
    hists[name] = _test_py_histogram('tf2', args + flags,
                                     str(tmp_path / name), config_name,
                                     'model.ckpt')
  # The reference: the original op graph under TensorFlow 1.15.
  hists['original'] = _test_py_histogram(
      'tf1', args + ['--op_graph', 'original'], str(tmp_path / 'original'),
      config_name, 'model.ckpt')
  assert hists['original'].sum() == 4 * 512 * 512
  # The fixed weights predict several classes, so the comparison means
  # something.
  assert np.count_nonzero(hists['original'].sum(axis=0)) >= 3
  for name in ['tf1', 'tf2'] + sorted(runs):
    assert _l1(hists['original'], hists[name]) <= MAX_L1, name
