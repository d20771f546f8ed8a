"""The class-name and colour table (libs/datasets/dataset_classes.py) and
what a config says about its dataset (li_programs/config/dataset_info.py)."""
import os

import numpy as np
import pytest

from libs.datasets import data_generator
from libs.datasets import dataset_classes as dc
from li_programs.config import config as config_lib
from li_programs.config import dataset_info


def test_tables_match_the_datasets_descriptors():
  for name in dc.known_datasets():
    descriptor = data_generator.get_descriptor(name)
    names = dc.class_names(name, descriptor.num_classes)
    assert len(names) == descriptor.num_classes == len(set(names)), name
    assert not any(n.startswith('class_') for n in names), name
  ade = dc.class_names('ade20k', 151)
  assert ade[0] == 'other' and ade[1] == 'wall' and ade[150] == 'flag'
  assert ade[45] == 'chest of drawers' and ade[8] == 'bed'
  voc = dc.class_names('pascal_voc_seg', 21)
  assert voc[0] == 'background' and voc[15] == 'person'
  assert voc[20] == 'tvmonitor'
  celeba = dc.class_names('celeba_mask', 19)
  assert celeba[1] == 'skin' and celeba[13] == 'hair' and celeba[18] == 'cloth'


def test_voc_palette_follows_the_bit_interleaving_rule():
  palette = dc.voc_palette(256)
  assert palette.shape == (256, 3) and palette.dtype == np.uint8
  assert palette[0].tolist() == [0, 0, 0]
  assert palette[1].tolist() == [128, 0, 0]        # aeroplane
  assert palette[2].tolist() == [0, 128, 0]
  assert palette[15].tolist() == [192, 128, 128]   # person
  assert palette[255].tolist() == [224, 224, 192]  # the void border
  # Every colour distinct: the rule is a bijection on 8 bits.
  assert len({tuple(c) for c in palette}) == 256


def test_standard_colours_of_ade20k_and_celebamask_hq():
  ade = dc.palette('ade20k', 151)
  assert ade.shape == (256, 3)
  assert ade[0].tolist() == [0, 0, 0]
  assert ade[1].tolist() == [120, 120, 120]     # wall
  assert ade[13].tolist() == [150, 5, 61]       # person
  assert ade[150].tolist() == [92, 0, 255]      # flag
  celeba = dc.palette('celeba_mask', 19)
  assert celeba[1].tolist() == [204, 0, 0]      # skin
  assert celeba[13].tolist() == [0, 0, 204]     # hair
  assert celeba[18].tolist() == [0, 204, 0]     # cloth
  np.testing.assert_array_equal(dc.palette('pascal_voc_seg', 21),
                                dc.voc_palette(256))


def test_other_datasets_get_names_and_distinct_generated_colours():
  assert dc.class_names('my_set', 3) == ('class_0', 'class_1', 'class_2')
  # A built-in name with another class count is not the built-in dataset.
  assert dc.class_names('pascal_voc_seg', 5)[0] == 'class_0'
  palette = dc.palette('my_set', 40)
  assert palette[0].tolist() == [0, 0, 0]
  assert len({tuple(c) for c in palette[:40]}) == 40


def _cfg(path, data_lines, tmp_path):
  text = open(path).read().replace(
      'dataset = synthetic_shapes', 'dataset = my_set\n' + data_lines)
  own = str(tmp_path / 'own.ini')
  with open(own, 'w') as f:
    f.write(text)
  return config_lib.load_config(own, 'test', notify=None)


def test_a_dataset_of_your_own_is_described_by_its_config(config, tmp_path):
  cfg = _cfg(config, 'num_classes = 3\nignore_label = 255\n'
             'class_names = sky, road , car', tmp_path)
  descriptor = dataset_info.descriptor_of(cfg)
  assert descriptor.num_classes == 3 and descriptor.ignore_label == 255
  assert descriptor.splits_to_sizes is None  # counted from the records
  assert dataset_info.class_names_of(cfg) == ('sky', 'road', 'car')
  names_file = tmp_path / 'names.txt'
  names_file.write_text('sky\nroad\n\ncar\n')
  cfg = _cfg(config, 'num_classes = 3\nignore_label = 255\n'
             'class_names = names.txt', tmp_path)  # beside the config
  assert dataset_info.class_names_of(cfg) == ('sky', 'road', 'car')
  cfg = _cfg(config, 'num_classes = 3\nignore_label = 255', tmp_path)
  assert dataset_info.class_names_of(cfg)[2] == 'class_2'


@pytest.mark.parametrize('lines,message', [
    ('', "dataset 'my_set' is not built in"),
    ('num_classes = 3', 'needs ignore_label in [data]'),
    ('num_classes = 3\nignore_label = 2', 'must be 0 (label 0 means'),
    ('num_classes = 1\nignore_label = 255', 'must lie in 2..256'),
    ('num_classes = 3\nignore_label = 255\nclass_names = a, b',
     'gives 2 names (one per line or comma-separated); the dataset has 3'),
    ('num_classes = 3\nignore_label = 255\nclass_names = a,,c',
     'one of them empty'),
    ('num_classes = 3\nignore_label = 255\nclass_names = missing.txt',
     'no file missing.txt'),
])
def test_bad_dataset_descriptions_are_one_line_errors(config, tmp_path, lines,
                                                      message):
  cfg = _cfg(config, lines, tmp_path)
  with pytest.raises(config_lib.ConfigError) as err:
    dataset_info.class_names_of(cfg)
  assert message in str(err.value) and '\n' not in str(err.value)


def test_built_in_datasets_refuse_contradicting_values(config, tmp_path):
  text = open(config).read().replace(
      'dataset = synthetic_shapes', 'dataset = synthetic_shapes\n'
      'num_classes = 7')
  path = str(tmp_path / 'c.ini')
  with open(path, 'w') as f:
    f.write(text)
  cfg = config_lib.load_config(path, 'test', notify=None)
  with pytest.raises(config_lib.ConfigError, match='num_classes = 7 '
                     'contradicts the built-in dataset synthetic_shapes'):
    dataset_info.descriptor_of(cfg)
  # The built-in values themselves are fine.
  cfg = config_lib.load_config(path, 'test', ['--num_classes=5',
                                              '--ignore_label=255'],
                               notify=None)
  assert dataset_info.descriptor_of(cfg).num_classes == 5


def test_scored_classes_follow_the_ade20k_shift():
  names = dc.class_names('ade20k', 151)
  scored = dataset_info.scored_classes(names, 0)
  assert len(scored) == 150 and scored[0] == (1, 'wall')
  assert scored[-1] == (150, 'flag')
  assert dataset_info.scored_classes(('a', 'b'), 255) == [(0, 'a'), (1, 'b')]


def test_the_reader_takes_the_configs_descriptor(tmp_path):
  # Any split name, sizes counted: no table entry needed.
  import tensorflow.compat.v1 as tf
  with tf.io.TFRecordWriter(
      str(tmp_path / 'mine-00000-of-00001.tfrecord')) as writer:
    for _ in range(2):
      writer.write(b'an example')  # counted, not parsed
  dataset = data_generator.Dataset(
      'my_set', 'mine', str(tmp_path), 1, [33, 33],
      descriptor=data_generator.DatasetDescriptor(None, 3, 255))
  assert dataset.num_of_classes == 3 and dataset.num_samples == 2
  with pytest.raises(data_generator.DatasetError,
                     match='describe your own with num_classes'):
    data_generator.Dataset('my_set', 'mine', str(tmp_path), 1, [33, 33])
  assert os.path.isdir(str(tmp_path))
