"""Removes the colour map of PASCAL VOC ground truth.

VOC's SegmentationClass PNGs are palette images whose palette indices are the
class ids (255 = boundary / ignore). This writes them as grey-scale PNGs of
the class ids, which the TFRecord builder stores.

  python dataset_generation/remove_gt_colormap.py \
    --original_gt_folder VOC2012/SegmentationClass \
    --output_dir VOC2012/SegmentationClassRaw
"""
import argparse
import glob
import os
import sys

if __package__ in (None, ''):  # Run as a file: make the repo importable.
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from dataset_generation import build_data
from libs.core.progress import progress


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--original_gt_folder',
                      default='./VOCdevkit/VOC2012/SegmentationClass',
                      help='Folder of the colour-mapped label PNGs.')
  parser.add_argument('--segmentation_format', default='png',
                      help='Extension of the label files.')
  parser.add_argument('--output_dir',
                      default='./VOCdevkit/VOC2012/SegmentationClassRaw',
                      help='Folder for the class-id PNGs (created).')
  return parser.parse_args(argv)


def remove_colormap(input_path, output_path):
  """Writes the class ids of the label at input_path as a grey-scale PNG."""
  _, image = build_data.open_image(input_path)
  array = build_data.label_to_array(image, input_path)
  with open(output_path, 'wb') as handle:
    handle.write(build_data.encode_png(array))


def main(argv=None):
  args = parse_args(argv)
  if not os.path.isdir(args.original_gt_folder):
    raise build_data.BuildError('--original_gt_folder: folder not found: %s'
                                % args.original_gt_folder)
  pattern = os.path.join(args.original_gt_folder,
                         '*.' + args.segmentation_format)
  paths = sorted(glob.glob(pattern))
  if not paths:
    raise build_data.BuildError('--original_gt_folder: no files match %s'
                                % pattern)
  if not os.path.isdir(args.output_dir):
    os.makedirs(args.output_dir)
  for path in progress(paths, prefix='remove colormap', stream=sys.stdout):
    name = os.path.splitext(os.path.basename(path))[0]
    remove_colormap(path, os.path.join(args.output_dir, name + '.png'))
  return 0


if __name__ == '__main__':
  sys.exit(build_data.run_main(main))
