"""The dataset shell scripts: skipped downloads (archives already there),
full builds from small fake archives, and missing-prerequisite messages.
Nothing is downloaded."""
import os
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
from PIL import Image
import tensorflow.compat.v1 as tf

from helpers.paths import REPO_ROOT as REPO
SCRIPTS = os.path.join(REPO, 'dataset_generation')


def _run(script, root, cwd, use_env=False):
  env = dict(os.environ, PYTHON=sys.executable, TF_CPP_MIN_LOG_LEVEL='2',
             PATH='/usr/bin:/bin')  # no wget/curl surprises needed
  env.pop('DATASET_ROOT', None)
  args = ['bash', os.path.join(SCRIPTS, script)]
  if use_env:
    env['DATASET_ROOT'] = str(root)
  else:
    args.append(str(root))
  return subprocess.run(args, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True)


def _png_bytes(array, palette=None):
  import io
  image = Image.fromarray(array.astype(np.uint8),
                          mode='P' if palette else None)
  if palette:
    image.putpalette(palette)
  buffer = io.BytesIO()
  image.save(buffer, format='PNG')
  return buffer.getvalue()


def _jpg_bytes(array):
  import io
  buffer = io.BytesIO()
  Image.fromarray(array.astype(np.uint8)).save(buffer, format='JPEG')
  return buffer.getvalue()


def _add(archive, name, data):
  if isinstance(archive, zipfile.ZipFile):
    archive.writestr(name, data)
  else:
    import io
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _count(path):
  return sum(1 for _ in tf.io.tf_record_iterator(path))


def test_ade20k_script_skips_download_and_builds(tmp_path):
  rng = np.random.RandomState(0)
  work = tmp_path / 'root' / 'ADE20K'
  work.mkdir(parents=True)
  with zipfile.ZipFile(str(work / 'ADEChallengeData2016.zip'), 'w') as archive:
    for split, count in (('training', 2), ('validation', 1)):
      for i in range(count):
        name = 'ADE_%s_%08d' % (split, i)
        _add(archive, 'ADEChallengeData2016/images/%s/%s.jpg' % (split, name),
             _jpg_bytes(rng.randint(0, 256, (9, 11, 3))))
        _add(archive,
             'ADEChallengeData2016/annotations/%s/%s.png' % (split, name),
             _png_bytes(rng.randint(0, 151, (9, 11))))
  result = _run('download_and_build_ade20k.sh', tmp_path / 'root', tmp_path,
                use_env=True)
  assert result.returncode == 0, result.stderr
  assert 'download skipped' in result.stdout
  records = work / 'tfrecord'
  assert _count(str(records / 'train-00000-of-00004.tfrecord')) == 1
  assert sum(_count(str(p)) for p in records.glob('train-*')) == 2
  assert sum(_count(str(p)) for p in records.glob('val-*')) == 1


def test_voc_script_builds_all_splits_from_fake_archives(tmp_path):
  rng = np.random.RandomState(1)
  root = tmp_path / 'root'
  work = root / 'pascal_voc_seg'
  work.mkdir(parents=True)
  # Without the augmented labels the script stops before any download.
  result = _run('build_voc2012_with_aug.sh', root, tmp_path)
  assert result.returncode == 1
  assert result.stderr.strip() == (
      'error: missing %s: download the augmented labels '
      'SegmentationClassAug.zip (SBD labels in VOC format) and put it at %s'
      % (work / 'SegmentationClassAug.zip', work / 'SegmentationClassAug.zip'))

  palette = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759
  names = ['2007_%06d' % i for i in range(4)]
  voc = 'VOCdevkit/VOC2012/'
  with tarfile.open(str(work / 'VOCtrainval_11-May-2012.tar'), 'w') as tar:
    for name in names:
      _add(tar, voc + 'JPEGImages/%s.jpg' % name,
           _jpg_bytes(rng.randint(0, 256, (10, 12, 3))))
    for name in names[:3]:
      _add(tar, voc + 'SegmentationClass/%s.png' % name,
           _png_bytes(rng.randint(0, 3, (10, 12)), palette))
    for split, members in (('train', names[:2]), ('val', names[2:3]),
                           ('trainval', names[:3])):
      _add(tar, voc + 'ImageSets/Segmentation/%s.txt' % split,
           ('\n'.join(members) + '\n').encode())
  aug_labels = {name: rng.randint(0, 21, (10, 12)) for name in names}
  with zipfile.ZipFile(str(work / 'SegmentationClassAug.zip'), 'w') as zipped:
    for name, label in aug_labels.items():
      _add(zipped, 'SegmentationClassAug/%s.png' % name, _png_bytes(label))

  result = _run('build_voc2012_with_aug.sh', root, tmp_path)
  assert result.returncode == 0, result.stderr
  assert 'download skipped' in result.stdout
  train_aug = work / voc / 'ImageSets/SegmentationAug/train_aug.txt'
  assert train_aug.read_text().split() == [names[0], names[1], names[3]]
  raw = np.array(Image.open(str(work / voc / 'SegmentationClassRaw' /
                                (names[0] + '.png'))))
  assert raw.max() <= 2
  records = work / 'tfrecord'
  for split, expected in (('train', 2), ('val', 1), ('trainval', 3),
                          ('train_aug', 3)):
    files = sorted(records.glob(split + '-*'))
    assert [f.name for f in files] == [
        '%s-%05d-of-00004.tfrecord' % (split, i) for i in range(4)]
    assert sum(_count(str(f)) for f in files) == expected


def test_celebamask_scripts_say_what_is_missing(tmp_path):
  root = tmp_path / 'root'
  work = root / 'CelebAMask-HQ'
  result = _run('preprocess_CelebAMaskHQ.sh', root, tmp_path)
  assert result.returncode == 1
  assert 'missing %s' % (work / 'CelebA-HQ-img') in result.stderr
  assert 'download CelebAMask-HQ and unpack it into %s' % work in result.stderr
  (work / 'CelebA-HQ-img').mkdir(parents=True)
  (work / 'CelebAMask-HQ-mask-anno').mkdir()
  result = _run('preprocess_CelebAMaskHQ.sh', root, tmp_path)
  assert result.returncode == 1
  assert ('missing %s' % (work / 'CelebA-HQ-to-CelebA-mapping.txt')
          in result.stderr)
  result = _run('build_CelebAMaskHQ.sh', root, tmp_path)
  assert result.returncode == 1
  assert 'run dataset_generation/preprocess_CelebAMaskHQ.sh' in result.stderr
