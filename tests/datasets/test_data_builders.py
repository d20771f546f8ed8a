"""TFRecord builders (VOC, ADE20K, CelebAMask-HQ), the synthetic set and the
reader on records written by DeepLab itself."""
import glob
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image
import pytest
import tensorflow.compat.v1 as tf

from dataset_generation import (build_ade20k_data, build_data,
                                build_voc2012_data, celebamask_hq,
                                make_synthetic_shapes, remove_gt_colormap)
from libs.datasets import data_generator

from helpers.paths import REPO_ROOT as REPO, SHARED_DIR
SHARED = os.path.join(SHARED_DIR, 'testdata')
VOC_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * 744


def _read_split(dataset_name, split, dataset_dir, crop=(65, 65)):
  """All eval samples of a split as a list of dicts (batch 1)."""
  with tf.Graph().as_default():
    dataset = data_generator.Dataset(dataset_name, split, dataset_dir, 1,
                                     list(crop))
    sample = dataset.get_one_shot_iterator().get_next()
    samples = []
    with tf.Session() as sess:
      while True:
        try:
          samples.append({k: v[0] for k, v in sess.run(sample).items()})
        except tf.errors.OutOfRangeError:
          return dataset, samples


def _raw_records(path):
  return [tf.train.Example.FromString(r)
          for r in tf.io.tf_record_iterator(path)]


def _save_palette_label(array, path):
  image = Image.fromarray(array.astype(np.uint8), mode='P')
  image.putpalette(VOC_PALETTE)
  image.save(path)


def _make_voc_folder(root, rng):
  """Three images: RGB jpg, grey-scale jpg, RGB jpg with palette label."""
  for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
    os.makedirs(os.path.join(root, sub))
  labels = {}
  for i, (mode, label_kind) in enumerate(
      [('RGB', 'L'), ('L', 'P'), ('RGB', 'P')]):
    name = '2007_%06d' % i
    height, width = 21 + i, 30 - i
    pixels = rng.randint(0, 256, size=(height, width, 3)).astype(np.uint8)
    image = Image.fromarray(pixels if mode == 'RGB' else pixels[..., 0])
    image.save(os.path.join(root, 'JPEGImages', name + '.jpg'), quality=90)
    label = rng.randint(0, 4, size=(height, width)).astype(np.uint8)
    label[0, :] = 255
    path = os.path.join(root, 'SegmentationClass', name + '.png')
    if label_kind == 'P':
      _save_palette_label(label, path)
    else:
      Image.fromarray(label).save(path)
    labels[name] = label
  lists = {'train': ['2007_000000', '2007_000001'], 'val': ['2007_000002']}
  for split, names in lists.items():
    with open(os.path.join(root, 'ImageSets/Segmentation', split + '.txt'),
              'w') as handle:
      handle.write('\n'.join(names) + '\n')
  return labels, lists


def _voc_args(root, output_dir, shards=2):
  return ['--image_folder', os.path.join(root, 'JPEGImages'),
          '--semantic_segmentation_folder',
          os.path.join(root, 'SegmentationClass'),
          '--list_folder', os.path.join(root, 'ImageSets/Segmentation'),
          '--image_format', 'jpg', '--label_format', 'png',
          '--output_dir', output_dir, '--num_shards', str(shards)]


def test_voc_builder_round_trip(tmp_path):
  root = str(tmp_path / 'VOC2012')
  labels, lists = _make_voc_folder(root, np.random.RandomState(0))
  output_dir = str(tmp_path / 'records')  # not created beforehand
  assert build_voc2012_data.main(_voc_args(root, output_dir)) == 0
  assert sorted(os.listdir(output_dir)) == [
      'train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord',
      'val-00000-of-00002.tfrecord', 'val-00001-of-00002.tfrecord']
  # Images are stored as the bytes of their files.
  example = _raw_records(os.path.join(output_dir,
                                      'train-00001-of-00002.tfrecord'))[0]
  feature = example.features.feature
  with open(os.path.join(root, 'JPEGImages', '2007_000001.jpg'), 'rb') as f:
    assert feature['image/encoded'].bytes_list.value[0] == f.read()
  assert feature['image/format'].bytes_list.value[0] == b'jpeg'
  for split, names in lists.items():
    dataset, samples = _read_split('pascal_voc_seg', split, output_dir)
    assert dataset.num_samples == len(names)
    assert [s['image_name'].decode() for s in samples] == names
    for sample in samples:
      label = labels[sample['image_name'].decode()]
      height, width = label.shape
      assert (sample['height'], sample['width']) == (height, width)
      np.testing.assert_array_equal(sample['label'][:height, :width, 0],
                                    label)
      assert np.all(sample['label'][height:] == 255)
      assert sample['original_image'].shape == (height, width, 3)
  grey = [s for s in _read_split('pascal_voc_seg', 'train', output_dir)[1]
          if s['image_name'] == b'2007_000001'][0]['original_image']
  np.testing.assert_array_equal(grey[..., 0], grey[..., 1])


def test_voc_builder_size_mismatch_names_the_file(tmp_path, capsys):
  root = str(tmp_path / 'VOC2012')
  _make_voc_folder(root, np.random.RandomState(1))
  bad_label = os.path.join(root, 'SegmentationClass', '2007_000001.png')
  Image.fromarray(np.zeros((5, 5), np.uint8)).save(bad_label)
  output_dir = str(tmp_path / 'records')
  assert build_data.run_main(build_voc2012_data.main,
                             _voc_args(root, output_dir)) == 1
  error = capsys.readouterr().err.strip()
  assert '\n' not in error
  assert '2007_000001.jpg' in error and '2007_000001.png' in error
  assert 'train-00000-of-00002.tfrecord' not in os.listdir(output_dir)


def test_colour_label_and_missing_folder_errors(tmp_path):
  root = str(tmp_path / 'VOC2012')
  _make_voc_folder(root, np.random.RandomState(2))
  colour = np.zeros((21, 30, 3), np.uint8)
  colour[..., 0] = 128
  Image.fromarray(colour).save(
      os.path.join(root, 'SegmentationClass', '2007_000000.png'))
  with pytest.raises(build_data.BuildError,
                     match=r'2007_000000\.png is a colour image'):
    build_voc2012_data.main(_voc_args(root, str(tmp_path / 'out')))
  args = _voc_args(root, str(tmp_path / 'out'))
  args[1] = str(tmp_path / 'nowhere')
  with pytest.raises(build_data.BuildError, match='--image_folder.*nowhere'):
    build_voc2012_data.main(args)


def test_remove_gt_colormap(tmp_path):
  source, target = tmp_path / 'gt', tmp_path / 'raw'
  source.mkdir()
  label = np.array([[0, 1, 2], [3, 255, 1]], np.uint8)
  _save_palette_label(label, str(source / 'a.png'))
  assert remove_gt_colormap.main(['--original_gt_folder', str(source),
                                  '--output_dir', str(target)]) == 0
  result = Image.open(str(target / 'a.png'))
  assert result.mode == 'L'
  np.testing.assert_array_equal(np.array(result), label)


def test_ade20k_builder_round_trip(tmp_path):
  rng = np.random.RandomState(3)
  folders = {}
  labels = {}
  for split, count in (('training', 3), ('validation', 1)):
    for kind in ('images', 'annotations'):
      folders[kind, split] = tmp_path / kind / split
      folders[kind, split].mkdir(parents=True)
    for i in range(count):
      name = 'ADE_%s_%08d' % ('train' if split == 'training' else 'val', i)
      pixels = rng.randint(0, 256, size=(17, 23, 3)).astype(np.uint8)
      Image.fromarray(pixels).save(
          str(folders['images', split] / (name + '.jpg')))
      label = rng.randint(0, 151, size=(17, 23)).astype(np.uint8)
      Image.fromarray(label).save(
          str(folders['annotations', split] / (name + '.png')))
      labels[name] = label
  output_dir = str(tmp_path / 'tfrecord')
  assert build_ade20k_data.main([
      '--train_image_folder', str(folders['images', 'training']),
      '--train_image_label_folder', str(folders['annotations', 'training']),
      '--val_image_folder', str(folders['images', 'validation']),
      '--val_image_label_folder', str(folders['annotations', 'validation']),
      '--output_dir', output_dir]) == 0
  assert len(os.listdir(output_dir)) == 8  # 4 shards x 2 splits
  for split, expected in (('train', 3), ('val', 1)):
    dataset, samples = _read_split('ade20k', split, output_dir, (33, 33))
    assert dataset.num_samples == expected == len(samples)
    assert dataset.ignore_label == 0 and dataset.num_of_classes == 151
    for sample in samples:
      np.testing.assert_array_equal(sample['label'][:17, :23, 0],
                                    labels[sample['image_name'].decode()])
      assert np.all(sample['label'][17:] == 0)  # padded with ignore label 0
  os.remove(str(folders['annotations', 'training'] / 'ADE_train_00000001.png'))
  with pytest.raises(build_data.BuildError, match='ADE_train_00000001.png'):
    build_ade20k_data.main([
        '--train_image_folder', str(folders['images', 'training']),
        '--train_image_label_folder', str(folders['annotations', 'training']),
        '--val_image_folder', str(folders['images', 'validation']),
        '--val_image_label_folder', str(folders['annotations', 'validation']),
        '--output_dir', output_dir])


def _celebamask_raw_layout(root):
  """CelebAMask-HQ raw layout from the shared samples: per-part masks split
  off the given label maps, CelebA indices in the test range."""
  samples = os.path.join(SHARED, 'celebamask_hq_samples')
  image_dir = os.path.join(root, 'CelebA-HQ-img')
  os.makedirs(image_dir)
  labels = {}
  with open(os.path.join(root, 'CelebA-HQ-to-CelebA-mapping.txt'), 'w') as f:
    f.write('idx\torig_idx\torig_file\n')
    for k in range(4):
      shutil.copy(os.path.join(samples, '%d.jpg' % k), image_dir)
      label = np.array(Image.open(os.path.join(samples, '%d.png' % k)))
      labels[k] = label
      mask_dir = os.path.join(root, 'CelebAMask-HQ-mask-anno',
                              str(k // 2000))
      if not os.path.isdir(mask_dir):
        os.makedirs(mask_dir)
      for part_id, part in enumerate(celebamask_hq.PARTS, start=1):
        if np.any(label == part_id):
          mask = np.where(label == part_id, 255, 0).astype(np.uint8)
          Image.fromarray(mask).save(
              os.path.join(mask_dir, '%05d_%s.png' % (k, part)))
      number = 182638 + 500 * k
      f.write('%d %d %06d.jpg\n' % (k, number - 1, number))
  return labels


@pytest.mark.slow
@pytest.mark.needs_shared
def test_celebamask_hq_scripts_build_the_given_labels(tmp_path):
  work = tmp_path / 'CelebAMask-HQ'
  labels = _celebamask_raw_layout(str(work))
  env = dict(os.environ, PYTHON=sys.executable, TF_CPP_MIN_LOG_LEVEL='2')
  env.pop('DATASET_ROOT', None)
  for script in ('preprocess_CelebAMaskHQ.sh', 'build_CelebAMaskHQ.sh'):
    result = subprocess.run(
        ['bash', os.path.join(REPO, 'dataset_generation', script),
         str(tmp_path)], cwd=str(tmp_path / 'CelebAMask-HQ'), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    assert result.returncode == 0, result.stderr
  with open(str(work / 'ImageSets' / 'test.txt')) as f:
    assert f.read().split() == ['0', '1', '2', '3']
  assert (work / 'ImageSets' / 'train.txt').read_text() == ''
  records = sorted(os.listdir(str(work / 'tfrecord')))
  assert records == ['test-%05d-of-00004.tfrecord' % i for i in range(4)]
  dataset, samples = _read_split('celeba_mask', 'test', str(work / 'tfrecord'),
                                 (513, 513))
  assert dataset.num_samples == 4 and dataset.num_of_classes == 19
  for sample in samples:
    k = int(sample['image_name'])
    np.testing.assert_array_equal(sample['label'][:512, :512, 0], labels[k])
    assert (sample['height'], sample['width']) == (512, 512)
    original = cv2.imread(os.path.join(SHARED, 'celebamask_hq_samples',
                                       '%d.jpg' % k))
    expected = cv2.resize(original, (512, 512),
                          interpolation=cv2.INTER_LINEAR)[..., ::-1]
    np.testing.assert_array_equal(sample['original_image'], expected)


def test_celebamask_combine_order_and_splits(tmp_path):
  mask_dir = tmp_path / 'anno' / '1'
  mask_dir.mkdir(parents=True)
  skin = np.full((8, 8), 255, np.uint8)
  hair = np.zeros((8, 8, 3), np.uint8)
  hair[:3, :, 1] = 7  # any non-zero pixel counts, colour masks accepted
  cv2.imwrite(str(mask_dir / '02001_skin.png'), skin)
  cv2.imwrite(str(mask_dir / '02001_hair.png'), hair)
  label = celebamask_hq.combine_masks_of(str(tmp_path / 'anno'), 2001, 8)
  assert np.all(label[:3] == 13) and np.all(label[3:] == 1)
  with pytest.raises(build_data.BuildError, match='00007_'):
    celebamask_hq.combine_masks_of(str(tmp_path / 'anno'), 7, 8)
  with pytest.raises(build_data.BuildError, match='expected 16x16'):
    celebamask_hq.combine_masks_of(str(tmp_path / 'anno'), 2001, 16)

  image_dir = tmp_path / 'img'
  image_dir.mkdir()
  numbers = [1, 162770, 162771, 182637, 182638, 202599]
  mapping = tmp_path / 'mapping.txt'
  with open(str(mapping), 'w') as f:
    f.write('idx orig_idx orig_file\n')
    for k, number in enumerate(numbers):
      (image_dir / ('%d.jpg' % k)).write_bytes(b'')
      f.write('%d %d %06d.jpg\n' % (k, number - 1, number))
  splits = celebamask_hq.make_splits(str(image_dir), str(mapping),
                                     str(tmp_path / 'lists'))
  assert splits == {'train': ['0', '1'], 'val': ['2', '3'],
                    'test': ['4', '5'], 'trainval': ['0', '1', '2', '3']}
  with open(str(mapping), 'a') as f:
    f.write('6 oops\n')
  with pytest.raises(build_data.BuildError, match='mapping.txt line 8'):
    celebamask_hq.make_splits(str(image_dir), str(mapping),
                              str(tmp_path / 'lists'))


def test_synthetic_shapes_build_read_and_learnable(tmp_path):
  raw = str(tmp_path / 'raw')
  splits = make_synthetic_shapes.write_dataset(raw, 6, 3, 33, 33, seed=4)
  assert len(splits['train']) == 6 and len(splits['val']) == 3
  output_dir = str(tmp_path / 'tfrecord')
  assert build_voc2012_data.main([
      '--image_folder', os.path.join(raw, 'JPEGImages'),
      '--semantic_segmentation_folder', os.path.join(raw, 'SegmentationClass'),
      '--list_folder', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--image_format', 'jpg', '--label_format', 'png',
      '--output_dir', output_dir]) == 0
  dataset, samples = _read_split('synthetic_shapes', 'val', output_dir,
                                 (33, 33))
  assert dataset.num_samples == 3 and dataset.num_of_classes == 5
  with tf.Graph().as_default():
    train = data_generator.Dataset(
        'synthetic_shapes', 'train', output_dir, 2, [33, 33],
        min_scale_factor=0.5, max_scale_factor=2.0, scale_factor_step_size=0.25,
        is_training=True, should_shuffle=True, should_repeat=True)
    batch = train.get_one_shot_iterator().get_next()
    assert batch['image'].shape.as_list() == [2, 33, 33, 3]
    assert batch['label'].shape.as_list() == [2, 33, 33, 1]
    with tf.Session() as sess:
      for _ in range(5):  # repeats past the 6 records
        labels = sess.run(batch)['label']
        assert set(np.unique(labels)) <= {0, 1, 2, 3, 4, 255}

  # Learnable: a fixed rule on the colour alone recovers the class of almost
  # every labelled pixel (low saturation = background, else nearest hue).
  rng = np.random.RandomState(5)
  correct = total = 0
  seen = set()
  for _ in range(20):
    image, label = make_synthetic_shapes.generate_sample(rng, 65, 65)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    hue, saturation = hsv[..., 0] / 256.0, hsv[..., 1] / 255.0
    distances = [np.abs((hue - h + 0.5) % 1.0 - 0.5)
                 for h in make_synthetic_shapes.CLASS_HUES[1:]]
    predicted = np.where(saturation < 0.35, 0,
                         1 + np.argmin(np.stack(distances), axis=0))
    valid = label != 255
    correct += np.sum(predicted[valid] == label[valid])
    total += valid.sum()
    seen.update(np.unique(label[valid]).tolist())
    assert np.any(label == 255)  # ignore band on the borders
  assert seen == {0, 1, 2, 3, 4}
  assert correct / float(total) > 0.97


def _ade20k_folders(root, count):
  rng = np.random.RandomState(5)
  flags = []
  for split, kind in (('train', 'training'), ('val', 'validation')):
    for what, flag in (('images', '--%s_image_folder'),
                       ('annotations', '--%s_image_label_folder')):
      folder = os.path.join(root, what, kind)
      os.makedirs(folder)
      flags += [flag % split, folder]
    for i in range(count if split == 'train' else 1):
      name = 'ADE_%s_%08d' % (split, i)
      Image.fromarray(rng.randint(0, 256, (9, 11, 3)).astype(np.uint8)).save(
          os.path.join(root, 'images', kind, name + '.jpg'))
      Image.fromarray(rng.randint(0, 151, (9, 11)).astype(np.uint8)).save(
          os.path.join(root, 'annotations', kind, name + '.png'))
  return flags


def _shard_names(output_dir, split):
  names = []
  for path in sorted(glob.glob(os.path.join(output_dir, split + '-*'))):
    names += [r.features.feature['image/filename'].bytes_list.value[0]
              for r in _raw_records(path)]
  return [n.decode() for n in names]


def test_ade20k_builds_are_shuffled_the_same_way_every_time(tmp_path):
  """As the original, the image list is shuffled before sharding (scene
  categories follow the file numbers); the seed makes builds identical."""
  flags = _ade20k_folders(str(tmp_path / 'raw'), 12)
  shards = []
  for build in ('a', 'b'):
    output_dir = str(tmp_path / build)
    assert build_ade20k_data.main(flags + ['--output_dir', output_dir]) == 0
    files = sorted(os.listdir(output_dir))
    shards.append({f: open(os.path.join(output_dir, f), 'rb').read()
                   for f in files})
  assert shards[0] == shards[1]
  names = _shard_names(str(tmp_path / 'a'), 'train')
  assert sorted(names) == ['ADE_train_%08d' % i for i in range(12)]
  assert names != sorted(names)
