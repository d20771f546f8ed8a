"""CelebAMask-HQ preparation: combine part masks, resize images, list splits.

Three steps, each a sub-command:

  combine_masks  one label map per image from the per-part masks
                 ``<mask_folder>/<k // 2000>/<k:05d>_<part>.png``; parts are
                 painted in PARTS order (labels 1..18), later parts overwrite
                 earlier ones, any non-zero mask pixel counts.
  resize_images  the 1024x1024 CelebA-HQ images resized to the label size
                 (512x512, OpenCV bilinear) and saved losslessly as PNG.
  make_splits    train/val/test/trainval lists from the CelebA identity
                 partition, through CelebA-HQ-to-CelebA-mapping.txt
                 (``idx orig_idx orig_file``): CelebA files 1..162770 are
                 train, 162771..182637 val, 182638..202599 test.

  python dataset_generation/celebamask_hq.py combine_masks \
    --image_folder CelebA-HQ-img --mask_folder CelebAMask-HQ-mask-anno \
    --output_dir CelebAMask-HQ-mask
"""
import argparse
import glob
import os
import sys

if __package__ in (None, ''):  # Run as a file: make the repo importable.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import cv2
import numpy as np

from dataset_generation import build_data
from libs.core.progress import progress

BuildError = build_data.BuildError

# Face parts in label order: PARTS[i] gets label i + 1 (0 is background).
PARTS = ('skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
         'l_ear', 'r_ear', 'mouth', 'u_lip', 'l_lip', 'hair', 'hat', 'ear_r',
         'neck_l', 'neck', 'cloth')

# Part masks of image k live in sub-folder k // MASKS_PER_FOLDER.
MASKS_PER_FOLDER = 2000

# Last CelebA file number (1-based) of the train and val partitions; the
# remaining files up to CELEBA_LAST are the test partition.
TRAIN_LAST = 162770
VAL_LAST = 182637
CELEBA_LAST = 202599

SPLITS = ('train', 'val', 'test', 'trainval')


def image_indices(image_folder):
  """Sorted integer indices k of the ``<k>.jpg`` images in image_folder."""
  if not os.path.isdir(image_folder):
    raise BuildError('--image_folder: folder not found: %s' % image_folder)
  indices = []
  for path in glob.glob(os.path.join(image_folder, '*.jpg')):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.isdigit():
      indices.append(int(stem))
  if not indices:
    raise BuildError('--image_folder: no <index>.jpg images match %s'
                     % os.path.join(image_folder, '*.jpg'))
  return sorted(indices)


def part_mask_path(mask_folder, index, part):
  return os.path.join(mask_folder, str(index // MASKS_PER_FOLDER),
                      '%05d_%s.png' % (index, part))


def _read_mask(path):
  mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
  if mask is None:
    raise BuildError('cannot decode part mask %s' % path)
  if mask.ndim == 3:
    mask = mask.max(axis=2)
  return mask != 0


def combine_masks_of(mask_folder, index, mask_size):
  """uint8 label map [mask_size, mask_size] of image `index`."""
  label = np.zeros((mask_size, mask_size), np.uint8)
  found = False
  for part_id, part in enumerate(PARTS, start=1):
    path = part_mask_path(mask_folder, index, part)
    if not os.path.isfile(path):
      continue
    found = True
    mask = _read_mask(path)
    if mask.shape != label.shape:
      raise BuildError('part mask %s is %dx%d, expected %dx%d (--mask_size)'
                       % (path, mask.shape[0], mask.shape[1], mask_size,
                          mask_size))
    label[mask] = part_id
  if not found:
    raise BuildError('image %d has no part masks: nothing matches %s'
                     % (index, part_mask_path(mask_folder, index, '*')))
  return label


def combine_masks(image_folder, mask_folder, output_dir, mask_size=512):
  """Writes ``<output_dir>/<k>.png`` for every image k of image_folder."""
  if not os.path.isdir(mask_folder):
    raise BuildError('--mask_folder: folder not found: %s' % mask_folder)
  indices = image_indices(image_folder)
  _makedirs(output_dir)
  for index in progress(indices, prefix='combine masks', stream=sys.stdout):
    label = combine_masks_of(mask_folder, index, mask_size)
    if not cv2.imwrite(os.path.join(output_dir, '%d.png' % index), label):
      raise BuildError('cannot write %s' % os.path.join(output_dir,
                                                         '%d.png' % index))


def resize_images(image_folder, output_dir, size=512):
  """Writes ``<output_dir>/<k>.png``: image k resized to size x size."""
  indices = image_indices(image_folder)
  _makedirs(output_dir)
  for index in progress(indices, prefix='resize images', stream=sys.stdout):
    path = os.path.join(image_folder, '%d.jpg' % index)
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
      raise BuildError('cannot decode image %s' % path)
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    out_path = os.path.join(output_dir, '%d.png' % index)
    if not cv2.imwrite(out_path, resized):
      raise BuildError('cannot write %s' % out_path)


def read_mapping(mapping_file):
  """{CelebA-HQ idx: CelebA file number} from the mapping file."""
  if not os.path.isfile(mapping_file):
    raise BuildError('--mapping_file: file not found: %s' % mapping_file)
  mapping = {}
  with open(mapping_file) as handle:
    for line_number, line in enumerate(handle, start=1):
      fields = line.split()
      if not fields or fields[0] == 'idx':
        continue
      stem = os.path.splitext(fields[-1])[0] if len(fields) == 3 else ''
      if not (fields[0].isdigit() and stem.isdigit()):
        raise BuildError('%s line %d: expected "idx orig_idx orig_file", '
                         'got %r' % (mapping_file, line_number, line.strip()))
      number = int(stem)
      if not 1 <= number <= CELEBA_LAST:
        raise BuildError('%s line %d: CelebA file %s is outside 1..%d'
                         % (mapping_file, line_number, fields[-1],
                            CELEBA_LAST))
      mapping[int(fields[0])] = number
  return mapping


def partition_of(celeba_number):
  """'train', 'val' or 'test' for a 1-based CelebA file number."""
  if celeba_number <= TRAIN_LAST:
    return 'train'
  if celeba_number <= VAL_LAST:
    return 'val'
  return 'test'


def make_splits(image_folder, mapping_file, output_dir):
  """Writes <split>.txt lists (train, val, test, trainval) of the images
  present; returns {split: [names]}."""
  mapping = read_mapping(mapping_file)
  splits = {split: [] for split in SPLITS}
  for index in image_indices(image_folder):
    if index not in mapping:
      raise BuildError('image %d of %s is not in %s'
                       % (index, image_folder, mapping_file))
    split = partition_of(mapping[index])
    splits[split].append(str(index))
    if split in ('train', 'val'):
      splits['trainval'].append(str(index))
  _makedirs(output_dir)
  for split, names in splits.items():
    with open(os.path.join(output_dir, split + '.txt'), 'w') as handle:
      handle.writelines(name + '\n' for name in names)
    sys.stdout.write('%s: %d images\n' % (split, len(names)))
  return splits


def _makedirs(path):
  if not os.path.isdir(path):
    os.makedirs(path)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  commands = parser.add_subparsers(dest='command')
  combine = commands.add_parser('combine_masks')
  combine.add_argument('--image_folder', required=True,
                       help='CelebA-HQ-img (decides which images get labels)')
  combine.add_argument('--mask_folder', required=True,
                       help='CelebAMask-HQ-mask-anno')
  combine.add_argument('--output_dir', required=True)
  combine.add_argument('--mask_size', type=int, default=512)
  resize = commands.add_parser('resize_images')
  resize.add_argument('--image_folder', required=True)
  resize.add_argument('--output_dir', required=True)
  resize.add_argument('--size', type=int, default=512)
  split = commands.add_parser('make_splits')
  split.add_argument('--image_folder', required=True)
  split.add_argument('--mapping_file', required=True,
                     help='CelebA-HQ-to-CelebA-mapping.txt')
  split.add_argument('--output_dir', required=True,
                     help='Folder for the <split>.txt lists.')
  args = parser.parse_args(argv)
  if args.command is None:
    parser.error('a command is required: combine_masks, resize_images or '
                 'make_splits')
  return args


def main(argv=None):
  args = parse_args(argv)
  if args.command == 'combine_masks':
    combine_masks(args.image_folder, args.mask_folder, args.output_dir,
                  args.mask_size)
  elif args.command == 'resize_images':
    resize_images(args.image_folder, args.output_dir, args.size)
  else:
    make_splits(args.image_folder, args.mapping_file, args.output_dir)
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
