"""dataset_generation/build_folder_dataset.py: pairs, splits, checks."""
import os

import numpy as np
import pytest
from PIL import Image

from dataset_generation import build_data
from dataset_generation import build_folder_dataset as builder
from libs.datasets import data_generator


def _folder(root, names, size=(9, 7), label_value=1, suffix=''):
  images, labels = root / 'images', root / 'labels'
  images.mkdir(exist_ok=True)
  labels.mkdir(exist_ok=True)
  for i, name in enumerate(names):
    pixels = np.full(size + (3,), 40 * i, np.uint8)
    Image.fromarray(pixels).save(str(images / (name + '.png')))
    label = np.zeros(size, np.uint8)
    label[0, 0] = label_value
    Image.fromarray(label).save(str(labels / (name + suffix + '.png')))
  return str(images), str(labels)


def test_random_splits_are_seeded_and_sized():
  names = ['im%02d' % i for i in range(20)]
  first = builder.random_splits(names, 0.25, seed=3)
  assert len(first['val']) == 5 and len(first['train']) == 15
  assert sorted(first['train'] + first['val']) == names
  assert builder.random_splits(names, 0.25, seed=3) == first
  assert builder.random_splits(names, 0.25, seed=4) != first
  assert builder.random_splits(names[:3], 0.01, 0)['val'] != []  # >= 1
  assert builder.random_splits(names, 0, 0) == {'train': names}
  with pytest.raises(build_data.BuildError, match='in \\[0, 1\\)'):
    builder.random_splits(names, 1.0, 0)
  with pytest.raises(build_data.BuildError, match='cannot be divided'):
    builder.random_splits(names[:1], 0.5, 0)


def test_builds_records_with_val_fraction(tmp_path, capsys):
  images, labels = _folder(tmp_path, ['a', 'b', 'c', 'd'], suffix='_mask')
  out = str(tmp_path / 'records')
  assert builder.main(['--image_dir', images, '--label_dir', labels,
                       '--label_suffix', '_mask', '--output_dir', out,
                       '--val_fraction', '0.5', '--num_classes', '2',
                       '--ignore_label', '255']) == 0
  files = sorted(os.listdir(out))
  assert files == ['train-00000-of-00001.tfrecord',
                   'val-00000-of-00001.tfrecord']
  assert data_generator.count_records([os.path.join(out, f)
                                       for f in files]) == 4
  printed = capsys.readouterr().out
  assert 'label values found: 0, 1' in printed
  assert 'num_classes = 2\nignore_label = 255' in printed


def test_split_lists_name_the_splits(tmp_path):
  images, labels = _folder(tmp_path, ['a', 'b', 'c'])
  lists = tmp_path / 'lists'
  lists.mkdir()
  (lists / 'mine.txt').write_text('a\nc.png\n')
  (lists / 'other.txt').write_text('b\n')
  out = str(tmp_path / 'records')
  assert builder.main(['--image_dir', images, '--label_dir', labels,
                       '--list_dir', str(lists), '--output_dir', out,
                       '--num_shards', '2']) == 0
  assert data_generator.count_records(data_generator.get_split_files(
      out, 'mine')) == 2
  assert len(data_generator.get_split_files(out, 'other')) == 2
  (lists / 'bad.txt').write_text('zzz\n')
  with pytest.raises(build_data.BuildError,
                     match='bad.txt names 1 image.*e.g. zzz'):
    builder.main(['--image_dir', images, '--label_dir', labels,
                  '--list_dir', str(lists), '--output_dir', out])


@pytest.mark.parametrize('problem,message', [
    ('no label', 'has no label'),
    ('value', 'holds value 7; classes are 0..2 and the ignore label 255'),
    ('size', 'is 9x7 but its label'),
    ('colour', 'is a colour image'),
    ('twice', 'two images are named a'),
])
def test_bad_pairs_stop_the_build_naming_the_file(tmp_path, problem,
                                                  message):
  images, labels = _folder(tmp_path, ['a', 'b'],
                           label_value=7 if problem == 'value' else 1)
  if problem == 'no label':
    os.remove(os.path.join(labels, 'b.png'))
  elif problem == 'size':
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(
        os.path.join(labels, 'b.png'))
  elif problem == 'colour':
    colour = np.zeros((9, 7, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(os.path.join(labels, 'b.png'))
  elif problem == 'twice':
    Image.fromarray(np.zeros((9, 7, 3), np.uint8)).save(
        os.path.join(images, 'a.jpg'))
  out = str(tmp_path / 'records')
  lists = tmp_path / 'lists'
  lists.mkdir()
  (lists / 'first.txt').write_text('a\n')  # a good split, written first
  (lists / 'second.txt').write_text('b\n')
  with pytest.raises(build_data.BuildError, match=message) as err:
    builder.main(['--image_dir', images, '--label_dir', labels,
                  '--output_dir', out, '--list_dir', str(lists),
                  '--num_classes', '3', '--ignore_label', '255'])
  assert '\n' not in str(err.value)
  # Every pair is checked before anything is written.
  assert not os.path.exists(out)


def test_empty_or_missing_folders(tmp_path):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(build_data.BuildError, match='holds no image'):
    builder.main(['--image_dir', str(tmp_path / 'empty'), '--label_dir',
                  str(tmp_path / 'empty'), '--output_dir', str(tmp_path)])
  with pytest.raises(build_data.BuildError, match='--label_dir: folder not '
                     'found'):
    builder.main(['--image_dir', str(tmp_path / 'empty'), '--label_dir',
                  str(tmp_path / 'nope'), '--output_dir', str(tmp_path)])
