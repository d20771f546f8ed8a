"""The original's own commands on the published layout (issue 25).

A temporary tree laid out as the original's README says -- a checkout, the
LI-Convs snapshots unzipped beside it, the CelebAMask-HQ records in
``../dataset`` -- with tiny generated checkpoints and records; then
``cd runners && bash evaluate_celebaMask.sh`` and ``bash
train_celebaMask.sh --training_number_of_steps 2``, as a user types them.
"""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h

SIZE = 33
# What a checkout needs to run the programs (tests, docs and tools aside).
CHECKOUT_PARTS = ('libs', 'li_utils', 'li_models', 'li_programs', 'config',
                  'runners', 'train.py', 'validate.py', 'test.py')
PUBLISHED = (('liMnv2_liAspp', 'LI-MNV2_LI-ASPP'),
             ('liResnet50_liAspp_dcd', 'LI-ResNet50_LI-ASPP_Decoder'))
# Flags that keep the runs small (tiny crops, the TensorFlow session: no
# TF Lite conversion of ResNet-50).
SMALL_EVAL = ['--eval_crop_size=%d,%d' % (SIZE, SIZE),
              '--inference_engine=session']


def _copy_checkout(target):
  os.makedirs(target)
  ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
  for part in CHECKOUT_PARTS:
    source = os.path.join(h.REPO_ROOT, part)
    if os.path.isdir(source):
      shutil.copytree(source, os.path.join(target, part), ignore=ignore)
    else:
      shutil.copy(source, target)


def _write_celeba_records(output_dir, raw_dir):
  """A few tiny CelebAMask-HQ records per split (19 classes)."""
  from dataset_generation import build_data
  rng = np.random.RandomState(25)
  os.makedirs(raw_dir)
  for split, count in (('train', 3), ('val', 2), ('test', 2)):
    examples = []
    for i in range(count):
      name = '%s_%d' % (split, i)
      image_path = os.path.join(raw_dir, name + '.jpg')
      label_path = os.path.join(raw_dir, name + '.png')
      Image.fromarray(rng.randint(0, 256, (SIZE, SIZE, 3)).astype(
          np.uint8)).save(image_path)
      Image.fromarray(rng.randint(0, 19, (SIZE, SIZE)).astype(
          np.uint8)).save(label_path)
      examples.append((name, image_path, label_path))
    build_data.write_split(split, examples, output_dir, num_shards=1,
                           stream=open(os.devnull, 'w'))


def _write_init_checkpoint(path):
  """An ImageNet-style init checkpoint reduced to one ResNet-50 variable."""
  with tf.Graph().as_default():
    tf.get_variable('resnet_v1_50/conv1_1/weights', [3, 3, 3, 64])
    with tf.Session() as sess:
      sess.run(tf.global_variables_initializer())
      os.makedirs(os.path.dirname(path))
      tf.train.Saver().save(sess, path, write_meta_graph=False)


@pytest.fixture(scope='module')
def published_tree(tmp_path_factory):
  """``<root>/{LI-Convs, LI-Convs-snapshots, dataset}`` as the README says."""
  root = str(tmp_path_factory.mktemp('published'))
  checkout = os.path.join(root, 'LI-Convs')
  _copy_checkout(checkout)
  _write_celeba_records(
      os.path.join(root, 'dataset', 'CelebAMask-HQ', 'tfrecord'),
      os.path.join(root, 'raw'))
  snapshots = os.path.join(root, 'LI-Convs-snapshots')
  for name, folder in PUBLISHED:
    h.save_model_checkpoint(
        os.path.join(checkout, 'config', 'CelebAMask_HQ', name + '.ini'),
        os.path.join(snapshots, 'LI_models', 'celeba_mask', folder,
                     'model.ckpt'), SMALL_EVAL[:1])
  _write_init_checkpoint(os.path.join(
      snapshots, 'init_models', 'resnet_v1_50_2018_05_04', 'model.ckpt'))
  return root


def _bash(args, cwd, extra_env=None):
  env = dict(os.environ, PYTHON=sys.executable)
  env.pop('LI_SNAPSHOTS', None)
  env.pop('LI_CONFIG', None)
  env.update(extra_env or {})
  return subprocess.run(['bash'] + args, cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=1200)


def _results(root, config_name):
  return glob.glob(os.path.join(root, 'LI-Convs-snapshots', 'celeba_mask',
                                config_name, 'test', '*', '*',
                                'test_result.txt'))


@pytest.mark.slow
def test_evaluate_runner_tests_both_published_models(published_tree):
  runners = os.path.join(published_tree, 'LI-Convs', 'runners')
  proc = _bash(['evaluate_celebaMask.sh'] + SMALL_EVAL, runners)
  assert proc.returncode == 0, proc.stderr[-3000:]
  headers = [l for l in proc.stdout.splitlines() if l.startswith('==> ')]
  assert len(headers) == 2, proc.stdout
  for header, (name, folder) in zip(headers, PUBLISHED):
    assert '/config/CelebAMask_HQ/%s.ini' % name in header
    assert '/LI_models/celeba_mask/%s/model.ckpt' % folder in header
    results = _results(published_tree, name)
    assert len(results) == 1, name
    assert open(results[0]).read().startswith('mIoU: ')
  # From any other folder too, one model chosen by LI_CONFIG, the
  # snapshots (and the results) in LI_SNAPSHOTS.
  for name, _ in PUBLISHED:
    for path in _results(published_tree, name):
      os.remove(path)
  moved = os.path.join(published_tree, 'elsewhere')
  if not os.path.islink(moved):
    os.symlink(os.path.join(published_tree, 'LI-Convs-snapshots'), moved)
  proc = _bash([os.path.join(runners, 'evaluate_celebaMask.sh')] +
               SMALL_EVAL, published_tree,
               {'LI_CONFIG': 'liMnv2_liAspp', 'LI_SNAPSHOTS': moved})
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert ('on %s/LI_models/celeba_mask/LI-MNV2_LI-ASPP/model.ckpt' % moved
          in proc.stdout)
  assert ('(%s/celeba_mask/liMnv2_liAspp/test/' % moved) in proc.stdout
  assert len(_results(published_tree, 'liMnv2_liAspp')) == 1
  assert not _results(published_tree, 'liResnet50_liAspp_dcd')


@pytest.mark.slow
def test_train_runner_trains_validates_and_tests(published_tree):
  runners = os.path.join(published_tree, 'LI-Convs', 'runners')
  proc = _bash(['train_celebaMask.sh', '--training_number_of_steps', '2',
                '--train_batch_size', '2', '--train_crop_size',
                '%d,%d' % (SIZE, SIZE), '--log_steps=1'] + SMALL_EVAL,
               runners)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # One tower per GPU TensorFlow sees (none here: one tower), said once.
  notes = [l for l in proc.stderr.splitlines() if 'hard-coded 2' in l]
  assert len(notes) == 1 and 'num_clones=' in notes[0], proc.stderr[-2000:]
  assert 'Initialised 1 variables from the initial checkpoint' in proc.stdout
  run = os.path.join(published_tree, 'LI-Convs-snapshots', 'celeba_mask',
                     'liResnet50_liAspp_dcd')
  assert os.path.isfile(os.path.join(run, 'train', 'model.ckpt-2.index'))
  assert os.path.isfile(os.path.join(run, 'val', 'val_result.txt'))
  results = glob.glob(os.path.join(run, 'test', '*(best_val)', '*',
                                   'test_result.txt'))
  assert len(results) == 1, proc.stdout[-2000:]
