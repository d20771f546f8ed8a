"""Builds DeepLab TFRecords from a folder of images and a folder of labels.

Every image ``<image_dir>/<name>.{jpg,jpeg,png,bmp,gif}`` is paired with its
label map ``<label_dir>/<name><label_suffix>.png`` (one class id per pixel,
8-bit grey or palette PNG, the image's size).  The splits come from
``--list_dir`` (every ``<split>.txt`` in it lists the names of one split),
else the images are divided into ``train`` and ``val`` at random with
``--val_fraction`` (a fixed ``--seed``, so a build repeats).  Records go to
``<output_dir>/<split>-<shard>-of-<num_shards>.tfrecord``; the label values
found are printed with the ``[data]`` keys a config needs for them
(docs/own_dataset.md).

  python dataset_generation/build_folder_dataset.py \\
    --image_dir my_data/images --label_dir my_data/labels \\
    --output_dir my_data/tfrecord --val_fraction 0.1 \\
    --num_classes 4 --ignore_label 255
"""
import argparse
import glob
import os
import random
import sys

import numpy as np

if __package__ in (None, ''):  # Run as a file: make the repo importable.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from dataset_generation import build_data

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif')


def parse_args(argv=None):
  parser = argparse.ArgumentParser(
      description=__doc__.split('\n')[0],
      epilog='Example: see the module docstring or docs/own_dataset.md.')
  parser.add_argument('--image_dir', required=True,
                      help='Folder of the images.')
  parser.add_argument('--label_dir', required=True,
                      help='Folder of the label PNGs (class ids).')
  parser.add_argument('--output_dir', required=True,
                      help='Where the TFRecords are written (created).')
  parser.add_argument('--label_suffix', default='',
                      help="Label file name = image name + this + '.png' "
                           "(e.g. '_mask'; default: none).")
  parser.add_argument('--list_dir', default=None,
                      help='Folder of <split>.txt files, one image name per '
                           'line; default: a random train/val division.')
  parser.add_argument('--val_fraction', type=float, default=0.1,
                      help='Share of the images in the val split when there '
                           'is no --list_dir (0 writes train only).')
  parser.add_argument('--seed', type=int, default=0,
                      help='Seed of the random train/val division.')
  parser.add_argument('--num_shards', type=int, default=1,
                      help='Shards per split.')
  parser.add_argument('--num_classes', type=int, default=None,
                      help='If given, every label value must lie below it '
                           '(or equal --ignore_label).')
  parser.add_argument('--ignore_label', type=int, default=None,
                      help='Label value of unlabelled pixels, for the '
                           '--num_classes check.')
  return parser.parse_args(argv)


def find_images(image_dir):
  """``{name: path}`` of the images in ``image_dir``."""
  images = {}
  for path in sorted(glob.glob(os.path.join(image_dir, '*'))):
    name, extension = os.path.splitext(os.path.basename(path))
    if extension.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(path):
      continue
    if name in images:
      raise build_data.BuildError(
          'two images are named %s: %s and %s; rename one' % (
              name, images[name], path))
    images[name] = path
  if not images:
    raise build_data.BuildError(
        '--image_dir %s holds no image (%s)' % (
            image_dir, ', '.join(e[1:] for e in IMAGE_EXTENSIONS)))
  return images


def random_splits(names, val_fraction, seed):
  """``{'train': [...], 'val': [...]}``: ``val_fraction`` of ``names`` (at
  least one, when the fraction is above 0) drawn with ``seed``."""
  if not 0.0 <= val_fraction < 1.0:
    raise build_data.BuildError('--val_fraction must lie in [0, 1), got %r'
                                % val_fraction)
  names = sorted(names)
  if val_fraction == 0:
    return {'train': names}
  if len(names) < 2:
    raise build_data.BuildError(
        '%d image(s) cannot be divided into train and val; add images or '
        'pass --val_fraction 0' % len(names))
  count = min(max(1, int(round(len(names) * val_fraction))), len(names) - 1)
  val = set(random.Random(seed).sample(names, count))
  return {'train': [n for n in names if n not in val],
          'val': [n for n in names if n in val]}


def listed_splits(list_dir, images):
  """``{split: [names]}`` of the ``<split>.txt`` files in ``list_dir``."""
  if not os.path.isdir(list_dir):
    raise build_data.BuildError('--list_dir: folder not found: %s' % list_dir)
  lists = sorted(glob.glob(os.path.join(list_dir, '*.txt')))
  if not lists:
    raise build_data.BuildError('--list_dir %s holds no <split>.txt list'
                                % list_dir)
  splits = {}
  for path in lists:
    names = [os.path.splitext(n)[0] if n not in images else n
             for n in build_data.read_list(path)]
    unknown = [n for n in names if n not in images]
    if unknown:
      raise build_data.BuildError(
          '%s names %d image(s) not in the image folder, e.g. %s'
          % (path, len(unknown), unknown[0]))
    splits[os.path.splitext(os.path.basename(path))[0]] = names
  return splits


def label_values(image_path, label_path):
  """The sorted label values of one label file; BuildError when it is not
  the size of its image."""
  _, _, height, width = build_data.read_image(image_path)
  _, label = build_data.open_image(label_path)
  values = build_data.label_to_array(label, label_path)
  if values.shape != (height, width):
    raise build_data.BuildError(
        'image %s is %dx%d but its label %s is %dx%d (HxW)' % (
            image_path, height, width, label_path, values.shape[0],
            values.shape[1]))
  return np.unique(values)


def check_labels(examples, num_classes, ignore_label):
  """Every image has a label of its size (checked before anything is
  written); returns the label values found.  With ``num_classes``, a value
  at or above it (other than ``ignore_label``) stops the build naming the
  file."""
  found = set()
  for _, image_path, label_path in examples:
    if not os.path.isfile(label_path):
      raise build_data.BuildError('image %s has no label %s' % (image_path,
                                                                label_path))
    values = label_values(image_path, label_path)
    if num_classes is not None:
      bad = [int(v) for v in values if v >= num_classes and v != ignore_label]
      if bad:
        raise build_data.BuildError(
            'label %s holds value %d; classes are 0..%d%s' % (
                label_path, bad[0], num_classes - 1,
                '' if ignore_label is None else ' and the ignore label %d'
                % ignore_label))
    found.update(int(v) for v in values)
  return found


def config_hint(values, ignore_label):
  """The ``[data]`` lines the label values suggest."""
  if ignore_label is None:
    ignore_label = 255 if 255 in values else None
  classes = [v for v in values if v != ignore_label]
  num_classes = max(classes) + 1 if classes else 1
  lines = ['num_classes = %d' % num_classes]
  if ignore_label is not None:
    lines.append('ignore_label = %d' % ignore_label)
  else:
    lines.append('ignore_label = 255     ; no 255 found: any value above the '
                 'classes')
  return lines


def main(argv=None):
  args = parse_args(argv)
  for flag in ('image_dir', 'label_dir'):
    if not os.path.isdir(getattr(args, flag)):
      raise build_data.BuildError('--%s: folder not found: %s'
                                  % (flag, getattr(args, flag)))
  if args.num_classes is not None and args.num_classes < 2:
    raise build_data.BuildError('--num_classes must be at least 2, got %d'
                                % args.num_classes)
  images = find_images(args.image_dir)
  if args.list_dir:
    splits = listed_splits(args.list_dir, images)
  else:
    splits = random_splits(images, args.val_fraction, args.seed)
  values = set()
  split_examples = {}
  for split, names in sorted(splits.items()):
    examples = [(name, images[name],
                 os.path.join(args.label_dir,
                              name + args.label_suffix + '.png'))
                for name in names]
    values |= check_labels(examples, args.num_classes, args.ignore_label)
    split_examples[split] = examples
  for split, examples in sorted(split_examples.items()):
    if not examples:
      sys.stderr.write('warning: split %r is empty; skipped\n' % split)
      continue
    build_data.write_split(split, examples, args.output_dir, args.num_shards)
  print('label values found: %s' % ', '.join(str(v) for v in sorted(values)))
  print('for your config:\n[data]\ndataset = <a name of your own>\n'
        'dataset_dir = %s\n%s' % (os.path.abspath(args.output_dir), '\n'.join(
            config_hint(values, args.ignore_label))))
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
