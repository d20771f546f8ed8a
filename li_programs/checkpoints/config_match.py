"""Which shipped config (``config/<DATASET>/*.ini``) builds a model that a
checkpoint fits, for error messages about checkpoints from another config.

Each shipped config's evaluation model is built in a throwaway graph (no
data, no session) and its variables are compared with the checkpoint's:
a config fits when every variable it needs is stored with its shape.
"""
import glob
import os

import tensorflow.compat.v1 as tf

from li_models import model
from li_models import model_config
from li_programs.checkpoints import checkpoint_check
from li_programs.config import config as config_lib
from li_programs.config import dataset_info

CONFIG_DIR = os.path.join(config_lib.REPO_ROOT, 'config')
# A small input: variable shapes do not depend on the crop.
_PROBE_CROP = [65, 65]


def shipped_configs():
  """The shipped experiment configs (the annotated example left out)."""
  paths = glob.glob(os.path.join(CONFIG_DIR, '*', '*.ini'))
  return sorted(p for p in paths
                if os.path.basename(os.path.dirname(p)) != 'config_example')


def model_variable_shapes(config_file):
  """``{name: shape}`` of the evaluation model of ``config_file``."""
  cfg = config_lib.load_config(config_file, 'test', notify=None)
  num_classes = dataset_info.descriptor_of(cfg).num_classes
  options = model_config.model_options_from_config(cfg, num_classes,
                                                   _PROBE_CROP)
  with tf.Graph().as_default():
    images = tf.placeholder(tf.float32, [1] + _PROBE_CROP + [3])
    model.predict_logits(images, options)
    return checkpoint_check.variable_shapes(tf.global_variables())


def _stored_num_classes(stored_shapes):
  """Classes of the checkpoint's logits layer, or None when not found."""
  for name, shape in stored_shapes.items():
    if name.startswith('logits/') and name.endswith('/biases') and shape:
      return shape[-1]
  return None


def could_fit(config_file, stored_shapes):
  """Cheap test from the config values alone (no graph): the checkpoint
  holds the config's backbone scope and logits of its number of classes."""
  try:
    cfg = config_lib.load_config(config_file, 'test', notify=None)
    num_classes = dataset_info.descriptor_of(cfg).num_classes
    scope = model.backbone_scope(cfg.model_variant)
  except (ValueError, KeyError):
    return False
  if not any(name.startswith(scope + '/') for name in stored_shapes):
    return False
  stored_classes = _stored_num_classes(stored_shapes)
  return stored_classes is None or stored_classes == num_classes


def fitting_configs(stored_shapes, configs=None):
  """The configs among ``configs`` (default: the shipped ones) whose model
  ``stored_shapes`` (a checkpoint's ``{name: shape}``) fits.  Only configs
  passing ``could_fit`` are built."""
  fits = []
  for path in configs if configs is not None else shipped_configs():
    if not could_fit(path, stored_shapes):
      continue
    try:
      wanted = model_variable_shapes(path)
    except (ValueError, KeyError):
      continue
    missing, reshaped, _ = checkpoint_check.compare(stored_shapes, wanted)
    if not missing and not reshaped:
      fits.append(path)
  return fits


def suggestion(stored_shapes, configs=None):
  """'config/X/y.ini fits it' or a hint when no shipped config does."""
  fits = fitting_configs(stored_shapes, configs)
  if not fits:
    return ('no shipped config fits it either: was it trained with other '
            'model or LI options (e.g. --li_backbone_option_mnv2)?')
  names = [os.path.relpath(p, config_lib.REPO_ROOT) for p in fits]
  return '%s fit%s it' % (' and '.join(names), 's' if len(names) == 1 else '')
