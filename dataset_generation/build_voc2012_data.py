"""Builds DeepLab TFRecords from a PASCAL VOC 2012 style folder.

Every ``<list_folder>/<split>.txt`` (one image name per line) becomes the
records ``<output_dir>/<split>-0000i-of-0000n.tfrecord``, pairing
``<image_folder>/<name>.<image_format>`` with
``<semantic_segmentation_folder>/<name>.<label_format>``. Also used for
CelebAMask-HQ and the synthetic shapes set, which share this layout.

  python dataset_generation/build_voc2012_data.py \
    --image_folder VOC2012/JPEGImages \
    --semantic_segmentation_folder VOC2012/SegmentationClassRaw \
    --list_folder VOC2012/ImageSets/Segmentation \
    --image_format jpg --label_format png --output_dir VOC2012/tfrecord
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
  parser.add_argument('--image_folder',
                      default='./VOCdevkit/VOC2012/JPEGImages',
                      help='Folder containing the images.')
  parser.add_argument('--semantic_segmentation_folder',
                      default='./VOCdevkit/VOC2012/SegmentationClassRaw',
                      help='Folder containing the label maps (class ids).')
  parser.add_argument('--list_folder',
                      default='./VOCdevkit/VOC2012/ImageSets/Segmentation',
                      help='Folder containing the <split>.txt lists.')
  parser.add_argument('--image_format', default='jpg', help='jpg or png.')
  parser.add_argument('--label_format', default='png', help='png.')
  parser.add_argument('--output_dir', default='./tfrecord',
                      help='Where the TFRecords are written (created).')
  parser.add_argument('--num_shards', type=int, default=4,
                      help='Shards per split.')
  return parser.parse_args(argv)


def split_examples(list_path, image_folder, label_folder, image_format,
                   label_format):
  """[(name, image_path, label_path)] for the names in `list_path`."""
  return [(name,
           os.path.join(image_folder, '%s.%s' % (name, image_format)),
           os.path.join(label_folder, '%s.%s' % (name, label_format)))
          for name in build_data.read_list(list_path)]


def main(argv=None):
  args = parse_args(argv)
  build_data.format_name(args.image_format)
  if build_data.format_name(args.label_format) != 'png':
    raise build_data.BuildError('--label_format must be png, got %r'
                                % args.label_format)
  for flag in ('image_folder', 'semantic_segmentation_folder',
               'list_folder'):
    if not os.path.isdir(getattr(args, flag)):
      raise build_data.BuildError('--%s: folder not found: %s'
                                  % (flag, getattr(args, flag)))
  lists = sorted(glob.glob(os.path.join(args.list_folder, '*.txt')))
  if not lists:
    raise build_data.BuildError('--list_folder: no <split>.txt lists match %s'
                                % os.path.join(args.list_folder, '*.txt'))
  for list_path in lists:
    split = os.path.splitext(os.path.basename(list_path))[0]
    examples = split_examples(list_path, args.image_folder,
                              args.semantic_segmentation_folder,
                              args.image_format, args.label_format)
    if not examples:
      sys.stderr.write('warning: %s is empty; split %r skipped\n'
                       % (list_path, split))
      continue
    build_data.write_split(split, examples, args.output_dir, args.num_shards)
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
