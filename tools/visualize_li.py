"""Draws every LI layer of a checkpoint: kernels and weight distributions.

    python tools/visualize_li.py \\
        --checkpoint_path SNAPSHOT/train/model.ckpt-1000 \\
        [--config_file config/ADE20K/liMnv2_liAspp.ini] [--output_dir DIR]

``--checkpoint_path`` takes the checkpoint's prefix, one of its files
(``.index``, ``.data-*``) or its folder (the latest checkpoint there), as
test.py does, and says which checkpoint it used.

Writes ``li_kernels.png``, ``li_weight_distributions.png`` and
``li_weights.txt`` to ``--output_dir`` (default: ``li_visualization`` beside
the checkpoint) and prints the table.  ``--config_file`` supplies the zone and
sigma of each layer (checkpoints only store the weights).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from libs.core import quiet_tf  # filters TF's start-up noise
quiet_tf.import_tensorflow()
from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_paths
from li_programs.config import config as li_config
from li_programs.report import li_visualization


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--checkpoint_path', required=True,
                      help='checkpoint prefix, one of its files (.index, '
                      '.data-*) or its folder (its latest checkpoint)')
  parser.add_argument('--config_file', default=None,
                      help='INI the model was trained with (zones, sigmas)')
  parser.add_argument('--output_dir', default=None)
  args = parser.parse_args(argv)

  settings = None
  if args.config_file:
    try:
      cfg = li_config.load_config(args.config_file, 'test')
    except li_config.ConfigError as e:
      parser.error(str(e))
    settings = {k: getattr(cfg, k) for k in (
        'li_zones_dpn', 'li_decay_stds_dpn', 'li_zones_backbone',
        'li_decay_stds_backbone')}
  try:
    checkpoint, how = checkpoint_paths.resolve(args.checkpoint_path)
  except checkpoint_check.CheckpointError as e:
    parser.exit(2, 'visualize_li.py: error: cannot read checkpoint: %s\n' % e)
  line = checkpoint_paths.describe(args.checkpoint_path, checkpoint, how)
  if line:
    print('note: %s' % line)
  try:
    layers = li_visualization.read_li_layers(checkpoint, settings)
  except ValueError as e:
    parser.exit(2, 'visualize_li.py: error: %s\n' % e)

  output_dir = args.output_dir
  if output_dir is None:
    base = (args.checkpoint_path if os.path.isdir(args.checkpoint_path)
            else os.path.dirname(os.path.abspath(args.checkpoint_path)))
    output_dir = os.path.join(base, 'li_visualization')
  os.makedirs(output_dir, exist_ok=True)
  kernels = os.path.join(output_dir, 'li_kernels.png')
  distributions = os.path.join(output_dir, 'li_weight_distributions.png')
  table_path = os.path.join(output_dir, 'li_weights.txt')
  li_visualization.plot_li_kernels(layers, kernels)
  li_visualization.plot_li_weight_distributions(layers, distributions)
  table = li_visualization.summary_table(layers)
  with open(table_path, 'w') as f:
    f.write(table + '\n')
  print(table)
  print('\nwrote %s\n      %s\n      %s' % (kernels, distributions, table_path))
  return 0


if __name__ == '__main__':
  sys.exit(main())
