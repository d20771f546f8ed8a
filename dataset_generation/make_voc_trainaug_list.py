"""Writes the PASCAL VOC ``train_aug`` list.

train_aug is every image with an augmented (SBD) label in SegmentationClassAug
except the VOC 2012 val images (10582 images for the full data).

  python dataset_generation/make_voc_trainaug_list.py \
    --aug_label_folder VOC2012/SegmentationClassAug \
    --val_list VOC2012/ImageSets/Segmentation/val.txt \
    --output_list VOC2012/ImageSets/SegmentationAug/train_aug.txt
"""
import argparse
import glob
import os
import sys

if __package__ in (None, ''):  # Run as a file: make the repo importable.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from dataset_generation import build_data


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--aug_label_folder', required=True)
  parser.add_argument('--val_list', required=True)
  parser.add_argument('--output_list', required=True)
  return parser.parse_args(argv)


def train_aug_names(aug_label_folder, val_list):
  """Sorted names of the aug labels that are not in val_list."""
  pattern = os.path.join(aug_label_folder, '*.png')
  names = {os.path.splitext(os.path.basename(path))[0]
           for path in glob.glob(pattern)}
  if not names:
    raise build_data.BuildError('--aug_label_folder: no labels match %s'
                                % pattern)
  return sorted(names - set(build_data.read_list(val_list)))


def main(argv=None):
  args = parse_args(argv)
  names = train_aug_names(args.aug_label_folder, args.val_list)
  folder = os.path.dirname(os.path.abspath(args.output_list))
  if not os.path.isdir(folder):
    os.makedirs(folder)
  with open(args.output_list, 'w') as handle:
    handle.writelines(name + '\n' for name in names)
  sys.stdout.write('train_aug: %d images -> %s\n'
                   % (len(names), args.output_list))
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
