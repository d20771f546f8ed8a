"""Draws predict.py's outputs side by side: image | colours | overlay.

    python tools/predict_figure.py \\
        --config_file config/demo/liMnv2_liAspp_shapes.ini \\
        --predictions demo_output/predictions --names val_00000,val_00001 \\
        --output docs/figures/predict_demo.png

One row per name (default: the first three of the folder), the images read
from the paths predict.py recorded in ``run.json`` (or ``--images``), and a
legend of the dataset's class colours.  Made for docs/figures/.
"""
import argparse
import glob
import json
import os
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import numpy as np
from PIL import Image

from li_programs.config import cli
from li_programs.config import config as config_lib
from li_programs.config import dataset_info
from li_programs.report import prediction_files


def _image_paths(predictions, images):
  """``{name: image path}`` of the inputs of a predict.py run."""
  if images is None:
    with open(os.path.join(predictions, 'run.json')) as f:
      images = json.load(f)['settings']['images']
  return {item.name: item.path
          for item in prediction_files.find_images(images)}


def draw(predictions, names, image_paths, class_names, palette, output):
  import matplotlib  # lazily: Agg must be chosen before pyplot
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  from matplotlib.patches import Patch
  fig, axes = plt.subplots(len(names), 3, figsize=(7.5, 2.5 * len(names)),
                           squeeze=False)
  for row, name in enumerate(names):
    panels = [np.asarray(Image.open(image_paths[name]).convert('RGB'))]
    color, overlay = prediction_files.output_paths(predictions, name)[1:]
    panels += [np.asarray(Image.open(color)), np.asarray(Image.open(overlay))]
    for axis, panel, title in zip(axes[row], panels,
                                  ('image', 'color/', 'overlay/')):
      axis.imshow(panel, interpolation='nearest')
      axis.set_xticks([])
      axis.set_yticks([])
      if row == 0:
        axis.set_title(title)
    axes[row][0].set_ylabel(name, fontsize=8)
  handles = [Patch(color=np.asarray(palette[i]) / 255.0, label=name)
             for i, name in enumerate(class_names)]
  fig.legend(handles=handles, loc='lower center', ncol=min(len(handles), 6),
             fontsize=8, frameon=False)
  fig.tight_layout(rect=(0, 0.06, 1, 1))
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  fig.savefig(output, dpi=100)
  plt.close(fig)
  return output


def main(argv):
  parser = argparse.ArgumentParser(prog='predict_figure.py',
                                   description=__doc__.split('\n')[0])
  parser.add_argument('--config_file', required=True,
                      help='the config predict.py ran (names, colours)')
  parser.add_argument('--predictions', required=True,
                      help='the --output_dir of predict.py')
  parser.add_argument('--images', default=None,
                      help="predict.py's --images (default: from run.json)")
  parser.add_argument('--names', default=None,
                      help='comma list of image names (default: the first 3)')
  parser.add_argument('--output', required=True, help='the PNG to write')
  args = parser.parse_args(argv)
  cfg = config_lib.load_config(cli.resolve_config_file(args.config_file),
                               'test', notify=None)
  paths = _image_paths(args.predictions, args.images)
  names = (args.names.split(',') if args.names else sorted(
      n for n in paths if glob.glob(os.path.join(
          glob.escape(args.predictions), glob.escape(n) + '.png')))[:3])
  missing = [n for n in names if n not in paths]
  if missing or not names:
    raise IOError('--names: no input image named %s among %d'
                  % (', '.join(missing) or '(none)', len(paths)))
  print(draw(args.predictions, names, paths, dataset_info.class_names_of(cfg),
             dataset_info.palette_of(cfg), args.output))
  return 0


if __name__ == '__main__':
  sys.exit(cli.run_program('predict_figure.py', main, sys.argv[1:]))
