"""Builds DeepLab TFRecords for ADE20K (SceneParsing, ADEChallengeData2016).

Each ``*.jpg`` of an image folder is paired with the ``.png`` of the same name
in its label folder. As in the original, the image list is shuffled before it
is cut into shards: ADE20K's file numbers follow scene categories, so sorted
shards would feed one scene after another through training's 100-sample
shuffle buffer. The original's shuffle was unseeded; here it is seeded with
``SHUFFLE_SEED`` (0), so two builds of the same folder write identical
shards.

  python dataset_generation/build_ade20k_data.py \
    --train_image_folder ADEChallengeData2016/images/training \
    --train_image_label_folder ADEChallengeData2016/annotations/training \
    --val_image_folder ADEChallengeData2016/images/validation \
    --val_image_label_folder ADEChallengeData2016/annotations/validation \
    --output_dir ADE20K/tfrecord
"""
import argparse
import glob
import os
import random
import sys

if __package__ in (None, ''):  # Run as a file: make the repo importable.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from dataset_generation import build_data

_ROOT = './ADEChallengeData2016'
# Seed of the image-list shuffle (the original's was unseeded).
SHUFFLE_SEED = 0


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--train_image_folder',
                      default=_ROOT + '/images/training')
  parser.add_argument('--train_image_label_folder',
                      default=_ROOT + '/annotations/training')
  parser.add_argument('--val_image_folder',
                      default=_ROOT + '/images/validation')
  parser.add_argument('--val_image_label_folder',
                      default=_ROOT + '/annotations/validation')
  parser.add_argument('--output_dir', default='./tfrecord',
                      help='Where the TFRecords are written (created).')
  parser.add_argument('--num_shards', type=int, default=4,
                      help='Shards per split.')
  return parser.parse_args(argv)


def split_examples(image_folder, label_folder, image_flag, label_flag):
  """[(name, image_path, label_path)] of the *.jpg images in image_folder,
  in an order shuffled with SHUFFLE_SEED (the same for the same names)."""
  for flag, folder in ((image_flag, image_folder), (label_flag, label_folder)):
    if not os.path.isdir(folder):
      raise build_data.BuildError('--%s: folder not found: %s'
                                  % (flag, folder))
  pattern = os.path.join(image_folder, '*.jpg')
  images = sorted(glob.glob(pattern))
  if not images:
    raise build_data.BuildError('--%s: no images match %s'
                                % (image_flag, pattern))
  examples = []
  for image_path in images:
    name = os.path.splitext(os.path.basename(image_path))[0]
    examples.append((name, image_path,
                     os.path.join(label_folder, name + '.png')))
  random.Random(SHUFFLE_SEED).shuffle(examples)
  return examples


def main(argv=None):
  args = parse_args(argv)
  for split in ('train', 'val'):
    examples = split_examples(
        getattr(args, '%s_image_folder' % split),
        getattr(args, '%s_image_label_folder' % split),
        '%s_image_folder' % split, '%s_image_label_folder' % split)
    build_data.write_split(split, examples, args.output_dir, args.num_shards)
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
