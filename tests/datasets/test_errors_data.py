"""Bad records end in one line naming the TFRecord file and the record:
truncated or corrupt files, labels outside [0, num_classes), label and image
of different sizes, images larger than the evaluation crop."""
import os
import shutil

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h
from dataset_generation import build_data
from libs.datasets import record_checks
from li_programs.config import cli

# Each test trains or evaluates the tiny model on damaged records.
pytestmark = pytest.mark.slow

train_prog = h.load_program('train')
test_prog = h.load_program('test')


def _write_records(path, samples):
  """A TFRecord file of ``(name, image [H, W, 3], label [h, w])``."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as writer:
    for name, image, label in samples:
      example = build_data.image_seg_to_tfexample(
          build_data.encode_png(image), name, image.shape[0], image.shape[1],
          build_data.encode_png(label), image_format='png')
      writer.write(example.SerializeToString())
  return path


def _sample(name, size=65, label_size=None, label_value=1, seed=0):
  rng = np.random.RandomState(seed)
  image = rng.randint(0, 255, (size, size, 3)).astype(np.uint8)
  label_size = label_size or (size, size)
  label = np.zeros(label_size, np.uint8)
  label[5:20, 5:20] = label_value
  label[-3:, :] = 255
  return name, image, label


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('data_errors'))
  records, _, config = h.synthetic_setup(root)
  checkpoint = h.save_model_checkpoint(config, os.path.join(
      root, 'ckpt', 'model.ckpt'))
  return dict(root=root, records=records, config=config,
              checkpoint=checkpoint)


def _run(module, prog, argv, capsys):
  status = cli.run_program(prog, module.main, argv)
  err = capsys.readouterr().err.strip().splitlines()
  return status, [line for line in err if ': error: ' in line]


def _copy_records(env, name):
  target = os.path.join(env['root'], name)
  shutil.copytree(env['records'], target)
  return target


def _train(env, dataset_dir, capsys, *flags):
  return _run(train_prog, 'train.py', [
      '--config_file', env['config'], '--dataset_dir', dataset_dir,
      '--snapshot_root', os.path.join(dataset_dir, 'snap'), '--num_clones=1',
      '--training_number_of_steps=2'] + list(flags), capsys)


def _test(env, dataset_dir, capsys, *flags):
  return _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--dataset_dir', dataset_dir,
      '--snapshot_root', os.path.join(dataset_dir, 'snap'),
      '--checkpoint_path', env['checkpoint']] + list(flags), capsys)


def test_truncated_tfrecord_in_training_names_the_file(env, capsys):
  records = _copy_records(env, 'truncated')
  path = os.path.join(records, 'train-00000-of-00001.tfrecord')
  size = os.path.getsize(path)
  with open(path, 'r+b') as f:
    f.truncate(size - size // 3)
  status, err = _train(env, records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('train.py: error: TFRecord file %s is truncated '
                           'or corrupt after ' % path)
  assert '(truncated record at ' in err[0]
  assert err[0].endswith('rebuild the dataset (see docs/datasets.md) or '
                         'remove the file')


def test_corrupt_tfrecord_in_test_names_the_file(env, capsys):
  records = _copy_records(env, 'corrupt')
  path = os.path.join(records, 'val-00000-of-00001.tfrecord')
  with open(path, 'r+b') as f:
    f.seek(os.path.getsize(path) // 2)
    f.write(b'\x00' * 64)
  status, err = _test(env, records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('test.py: error: TFRecord file %s is truncated or '
                           'corrupt after ' % path)
  # Found by the record count (a damaged length field) or by the reader
  # (a damaged record body), depending on where the damage falls.
  assert 'corrupted record at' in err[0] or 'ends past byte' in err[0]


def test_label_outside_num_classes_stops_training_naming_the_record(
    env, capsys):
  records = os.path.join(env['root'], 'bad_label')
  path = _write_records(
      os.path.join(records, 'train-00000-of-00001.tfrecord'),
      [_sample('ok_0'), _sample('seven', label_value=7), _sample('ok_1')])
  status, err = _train(env, records, capsys, '--train_batch_size=3')
  assert status == 2 and len(err) == 1, err
  assert err[0] == ("train.py: error: record 'seven' in %s has label value "
                    "7, outside [0, 5) and not the ignore label 255: fix the "
                    "label image or use the dataset whose num_classes fits "
                    "it" % path)


def test_ignore_label_and_valid_classes_pass_the_label_check(env, capsys):
  records = os.path.join(env['root'], 'good_labels')
  _write_records(os.path.join(records, 'train-00000-of-00001.tfrecord'),
                 [_sample('a', label_value=4), _sample('b', label_value=0)])
  status, err = _train(env, records, capsys, '--train_batch_size=2')
  assert status == 0 and not err


@pytest.mark.parametrize('program', ['train', 'test'])
def test_label_of_another_size_is_an_error_naming_the_record(
    env, program, capsys):
  records = os.path.join(env['root'], 'sizes_' + program)
  split = 'train' if program == 'train' else 'val'
  path = _write_records(
      os.path.join(records, '%s-00000-of-00001.tfrecord' % split),
      [_sample('fine'), _sample('odd', label_size=(60, 65))])
  if program == 'train':
    status, err = _train(env, records, capsys, '--train_batch_size=2')
  else:
    status, err = _test(env, records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].endswith(
      "error: record 'odd' in %s: its label is 60x65 but its image is 65x65; "
      "rebuild the record from a label of the image's size" % path)


def test_eval_crop_smaller_than_an_image_names_the_size_and_the_crop(
    env, capsys):
  status, err = _test(env, env['records'], capsys, '--eval_crop_size=33,49')
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('test.py: error: image ')
  assert ('is 65x65 (after any resize), larger than eval_crop_size 33,49 '
          '(evaluation pads, never crops): use --eval_crop_size=65,65 or '
          'larger' in err[0])
  assert os.path.join(env['records'], 'val-00000-of-00001.tfrecord') in err[0]


def test_suggested_crop_follows_the_output_stride():
  assert record_checks.suggested_crop([97, 120], [65, 65], 16) == '97,129'
  assert record_checks.suggested_crop([40, 40], [65, 65], 8) == '65,65'
  assert record_checks.suggested_crop([70, 50], [33, 33], None) == '70,50'
