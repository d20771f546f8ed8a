"""Prints FLOPs and trainable parameters of configs' evaluation graphs.

  python tools/model_flops.py --config_file config/ADE20K/liMnv2_liAspp.ini \
      [--eval_crop_size=513,513 ...]
  python tools/model_flops.py --shipped     # the six published configs

The evaluation graph is the batch-1 ``predict_labels`` graph at the
``[test]`` crop (see ``li_models.model_stats``).  ``--shipped`` also prints
the published figures and the relative FLOP difference.
"""
import argparse
import os
import sys

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from libs.core import quiet_tf  # filters TF's start-up noise
tf = quiet_tf.import_tensorflow()

if __name__ == '__main__':  # quiet deprecation notices of the imports below
  tf.logging.set_verbosity(tf.logging.ERROR)

from libs.datasets import data_generator
from li_programs.config import config as config_lib
from li_programs.config import dataset_info
from li_models import model_config
from li_models import model_stats
from libs.core import tf_compat

# config -> (eval crop, float operations, trainable parameters) published
# for the original code.
SHIPPED = (
    ('ADE20K/liMnv2_liAspp.ini', 257, 1748111891, 2603927),
    ('ADE20K/liResnet50_liAspp_dcd.ini', 513, 94115732627, 26859975),
    ('PASCAL_VOC2012/liMnv2_liAspp.ini', 513, 6534485999, 2570901),
    ('PASCAL_VOC2012/liResnet50_liAspp_dcd.ini', 513, 92971732367, 26826565),
    ('CelebAMask_HQ/liMnv2_liAspp.ini', 513, 6532842347, 2570387),
    ('CelebAMask_HQ/liResnet50_liAspp_dcd.ini', 513, 92954132363, 26826051),
)


def config_flops_and_params(config_file, argv=()):
  """(FLOPs, trainable params, eval crop) of the test graph of a config."""
  cfg = config_lib.load_config(config_file, 'test', list(argv))
  num_classes = dataset_info.descriptor_of(cfg).num_classes
  options = model_config.model_options_from_config(cfg, num_classes,
                                                   cfg.eval_crop_size)
  flops, params = model_stats.count_flops_and_params(options,
                                                     cfg.eval_crop_size)
  return flops, params, list(cfg.eval_crop_size)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--config_file')
  parser.add_argument('--shipped', action='store_true',
                      help='Measure the six published configs.')
  args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
  if bool(args.config_file) == bool(args.shipped):
    parser.error('give either --config_file or --shipped')
  tf.logging.set_verbosity(tf.logging.ERROR)
  try:
    if args.config_file:
      flops, params, crop = config_flops_and_params(args.config_file, extra)
      print('%s crop %s: %d FLOPs, %d trainable parameters'
            % (args.config_file, crop, flops, params))
      return 0
    config_dir = os.path.join(config_lib.REPO_ROOT, 'config')
    print('| config | crop | FLOPs | published | diff | params | published |')
    print('|---|---|---|---|---|---|---|')
    for name, crop, ref_flops, ref_params in SHIPPED:
      flops, params, _ = config_flops_and_params(
          os.path.join(config_dir, name), extra)
      print('| %s | %d | %d | %d | %+.5f%% | %d | %d |' % (
          name[:-4], crop, flops, ref_flops,
          100.0 * (flops - ref_flops) / ref_flops, params, ref_params))
  except (ValueError, data_generator.DatasetError) as e:
    sys.stderr.write('model_flops: error: %s\n' % e)
    return 2
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
