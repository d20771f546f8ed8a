"""Builds the model graph of a config and writes its variable manifest (JSON).

  python tools/graph_manifest.py --config_file config/ADE20K/liMnv2_liAspp.ini \
      --mode test --output manifest.json [--model_variant=mobilenet_v2 ...]

``--mode test`` builds the evaluation graph: a float32 placeholder
``[1, eval_crop_h, eval_crop_w, 3]`` through ``predict_logits`` (logits
bilinearly resized to the input) with the ``[test]`` section's crop, atrous
rates and output stride.  ``--mode train`` builds the training model part:
the placeholder at ``train_crop_size`` through ``multi_scale_logits`` with
``is_training=True`` and ``fine_tune_batch_norm``/``weight_decay`` from
``[train]`` (merged logits, before upsampling).  Neither graph contains the
global step or optimiser slots.

Every other ``--flag`` overrides the config, as for the programs.  The JSON
holds ``config``, ``mode``, ``extra_flags``, ``dataset``, ``num_classes``,
``crop_size``, ``logits_shape``, ``num_regularization_losses``,
``trainable_params`` and ``variables`` (``name``, ``shape``, ``trainable``,
``model``, in creation order).
"""
import argparse
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np
import tensorflow.compat.v1 as tf

if __name__ == '__main__':  # quiet deprecation notices of the imports below
  tf.logging.set_verbosity(tf.logging.ERROR)

from libs.datasets import data_generator
from li_models import model
from li_programs.config import config as config_lib
from li_programs.config import dataset_info
from li_models import model_config
from libs.core import tf_compat

MODES = ('test', 'train')


def _config_label(config_file):
  """'<DATASET>/<name>.ini' for files under config/, else the path."""
  path = os.path.abspath(config_file)
  config_root = os.path.join(config_lib.REPO_ROOT, 'config') + os.sep
  if path.startswith(config_root):
    return path[len(config_root):].replace(os.sep, '/')
  return config_file


def build_model_graph(cfg, mode):
  """Builds the ``mode`` graph of ``cfg`` in the current default graph.

  Returns:
    (logits tensor, num_classes, crop_size).
  """
  if mode not in MODES:
    raise ValueError('mode must be one of %s, got %r'
                     % (', '.join(MODES), mode))
  num_classes = dataset_info.descriptor_of(cfg).num_classes
  crop_size = list(cfg.eval_crop_size if mode == 'test'
                   else cfg.train_crop_size)
  if len(crop_size) != 2:
    raise ValueError('%s must be height,width, got %r' % (
        'eval_crop_size' if mode == 'test' else 'train_crop_size', crop_size))
  options = model_config.model_options_from_config(cfg, num_classes,
                                                   crop_size)
  images = tf.placeholder(tf.float32, [1] + crop_size + [3], name='images')
  if mode == 'test':
    logits = model.predict_logits(images, options)
  else:
    outputs = model.multi_scale_logits(
        images, options, image_pyramid=cfg.image_pyramid,
        weight_decay=cfg.weight_decay, is_training=True,
        fine_tune_batch_norm=cfg.fine_tune_batch_norm)
    logits = {name: scales[model.MERGED_LOGITS_SCOPE]
              for name, scales in outputs.items()}
  return logits[model_config.OUTPUT_TYPE], num_classes, crop_size


def describe_graph(graph, logits):
  """Manifest fields read off a built graph."""
  with graph.as_default():
    model_vars = set(v.op.name for v in tf.model_variables())
    trainable = set(v.op.name for v in tf.trainable_variables())
    variables = [{'name': v.op.name, 'shape': v.shape.as_list(),
                  'trainable': v.op.name in trainable,
                  'model': v.op.name in model_vars}
                 for v in tf.global_variables()]
    return {
        'logits_shape': logits.shape.as_list(),
        'num_regularization_losses': len(
            tf.losses.get_regularization_losses()),
        'trainable_params': int(sum(
            int(np.prod(v.shape.as_list())) for v in tf.trainable_variables())),
        'variables': variables,
    }


def build_manifest(config_file, mode, extra_flags=()):
  """Builds the graph of ``config_file`` + flags in a new graph.

  Returns:
    the manifest dict (see the module docstring).

  Raises:
    li_programs.config.config.ConfigError: bad config or flag.
    ValueError: invalid model options.
  """
  return build_graph_and_manifest(config_file, mode, extra_flags)[1]


def build_graph_and_manifest(config_file, mode, extra_flags=()):
  """As build_manifest, also returning the built ``tf.Graph`` (for checks
  that read more off the graph than the manifest holds).

  Returns:
    ``(graph, manifest)``.
  """
  if mode not in MODES:
    raise ValueError('mode must be one of %s, got %r'
                     % (', '.join(MODES), mode))
  extra_flags = list(extra_flags)
  cfg = config_lib.load_config(config_file, mode, extra_flags)
  graph = tf.Graph()
  with graph.as_default():
    logits, num_classes, crop_size = build_model_graph(cfg, mode)
    described = describe_graph(graph, logits)
  manifest = {'config': _config_label(config_file), 'mode': mode,
              'extra_flags': extra_flags, 'dataset': cfg.dataset,
              'num_classes': num_classes, 'crop_size': crop_size}
  manifest.update(described)
  return graph, manifest


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      description='Build a model graph from a config and write its variable '
      'manifest. Unknown --flags override config options.')
  parser.add_argument('--config_file', required=True)
  parser.add_argument('--mode', choices=MODES, default='test')
  parser.add_argument('--output', required=True,
                      help='JSON file to write ("-" for stdout).')
  return parser.parse_known_args(argv)


def main(argv=None):
  args, extra = _parse_args(sys.argv[1:] if argv is None else argv)
  tf.logging.set_verbosity(tf.logging.ERROR)
  try:
    manifest = build_manifest(args.config_file, args.mode, extra)
  except (ValueError, data_generator.DatasetError) as e:
    sys.stderr.write('graph_manifest: error: %s\n' % e)
    return 2
  text = json.dumps(manifest, indent=1)
  if args.output == '-':
    sys.stdout.write(text + '\n')
  else:
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
      os.makedirs(out_dir)
    with open(args.output, 'w') as f:
      f.write(text + '\n')
    print('%s: %d variables, %d trainable parameters, logits %s'
          % (args.output, len(manifest['variables']),
             manifest['trainable_params'], manifest['logits_shape']))
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
