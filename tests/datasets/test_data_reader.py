"""The TFRecord reader: records written by DeepLab, bad dataset arguments,
and split sizes that differ from the descriptor."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.datasets import data_generator

from helpers.paths import SHARED_DIR

pytestmark = pytest.mark.tf2
DEEPLAB_DIR = os.path.join(SHARED_DIR, 'testdata', 'deeplab_format')


@pytest.mark.needs_shared
def test_reads_records_written_by_deeplab(monkeypatch):
  warnings = []
  monkeypatch.setattr(tf.logging, 'warning',
                      lambda msg, *args: warnings.append(msg % args))
  with tf.Graph().as_default():
    dataset = data_generator.Dataset('pascal_voc_seg', 'val', DEEPLAB_DIR,
                                     batch_size=1, crop_size=[513, 513])
    assert dataset.num_samples == 3  # not the descriptor's 1449
    assert len(warnings) == 1 and '1449' in warnings[0]
    assert 'val-*' in warnings[0]
    sample = dataset.get_one_shot_iterator().get_next()
    names = []
    with tf.Session() as sess:
      while True:
        try:
          out = sess.run(sample)
        except tf.errors.OutOfRangeError:
          break
        height, width = int(out['height'][0]), int(out['width'][0])
        names.append(out['image_name'][0].decode())
        original = out['original_image'][0]
        assert original.shape == (height, width, 3)
        assert original.dtype == np.uint8 and original.std() > 10
        image, label = out['image'][0], out['label'][0]
        assert image.shape == (513, 513, 3) and label.shape == (513, 513, 1)
        np.testing.assert_array_equal(image[:height, :width], original)
        assert np.all(image[height:] == 127.5)
        assert np.all(label[:, width:] == 255)
        valid = label[:height, :width]
        assert valid.min() >= 0 and valid.max() <= 255
        assert len(np.unique(valid)) > 1
  assert len(names) == 3 and len(set(names)) == 3


def test_missing_directory_names_the_glob(tmp_path):
  missing = str(tmp_path / 'no_such_dir')
  with pytest.raises(data_generator.DatasetError) as error:
    data_generator.Dataset('pascal_voc_seg', 'val', missing, 1, [33, 33])
  assert os.path.join(missing, 'val-*') in str(error.value)


def test_split_without_files_names_the_glob(tmp_path):
  (tmp_path / 'train-00000-of-00001.tfrecord').write_bytes(b'')
  with pytest.raises(data_generator.DatasetError) as error:
    data_generator.Dataset('synthetic_shapes', 'val', str(tmp_path), 1,
                           [33, 33])
  assert os.path.join(str(tmp_path), 'val-*') in str(error.value)


def test_bad_names_list_the_allowed_values(tmp_path):
  with pytest.raises(data_generator.DatasetError,
                     match='allowed values: ade20k, celeba_mask'):
    data_generator.Dataset('voc', 'val', str(tmp_path), 1, [33, 33])
  with pytest.raises(data_generator.DatasetError,
                     match="'test'.*allowed values: train, val"):
    data_generator.Dataset('ade20k', 'test', str(tmp_path), 1, [33, 33])
  with pytest.raises(data_generator.DatasetError, match='crop_size'):
    data_generator.Dataset('ade20k', 'val', str(tmp_path), 1, [33])


def test_descriptors():
  expected = {'pascal_voc_seg': (21, 255, {'train': 1464, 'train_aug': 10582,
                                           'trainval': 2913, 'val': 1449}),
              'ade20k': (151, 0, {'train': 20210, 'val': 2000}),
              'celeba_mask': (19, 255, {'train': 24183, 'val': 2993,
                                        'trainval': 27176, 'test': 2824}),
              'cityscapes': (19, 255, {'train': 2975, 'val': 500}),
              'synthetic_shapes': (5, 255, None)}
  for name, (classes, ignore, sizes) in expected.items():
    descriptor = data_generator.get_descriptor(name)
    assert descriptor.num_classes == classes
    assert descriptor.ignore_label == ignore
    assert descriptor.splits_to_sizes == sizes


def test_records_are_counted_and_truncation_is_named(tmp_path):
  path = str(tmp_path / 'val-00000-of-00001.tfrecord')
  with tf.io.TFRecordWriter(path) as writer:
    for size in (0, 5, 3000):
      writer.write(b'x' * size)
  assert data_generator.count_records([path, path]) == 6
  data = open(path, 'rb').read()
  for cut in (len(data) - 1, len(data) - 3010):
    with open(path, 'wb') as f:
      f.write(data[:cut])
    with pytest.raises(data_generator.DatasetError, match='truncated'):
      data_generator.count_records([path])


def test_two_readers_take_the_files_in_turn(tmp_path):
  """num_readers = 2, as the original's training: records of two shards
  alternate (files in glob order), as TFRecordDataset(files,
  num_parallel_reads=2) gives them."""
  from dataset_generation import build_data
  from PIL import Image
  raw = tmp_path / 'raw'
  raw.mkdir()
  examples = []
  for i in range(4):
    Image.fromarray(np.full((5, 7, 3), i, np.uint8)).save(
        str(raw / ('%d.jpg' % i)))
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(str(raw / ('%d.png' % i)))
    examples.append(('img%d' % i, str(raw / ('%d.jpg' % i)),
                     str(raw / ('%d.png' % i))))
  build_data.write_split('train', examples, str(tmp_path), num_shards=2,
                         stream=open(os.devnull, 'w'))
  names = {}
  for readers in (1, 2):
    with tf.Graph().as_default():
      dataset = data_generator.Dataset('synthetic_shapes', 'train',
                                       str(tmp_path), 1, [9, 9],
                                       num_readers=readers)
      sample = dataset.get_one_shot_iterator().get_next()
      with tf.Session() as sess:
        names[readers] = [sess.run(sample)['image_name'][0].decode()
                          for _ in range(4)]
  assert names[1] == ['img0', 'img1', 'img2', 'img3']
  assert names[2] == ['img0', 'img2', 'img1', 'img3']
