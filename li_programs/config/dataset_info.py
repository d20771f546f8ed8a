"""What a config says about its dataset: classes, ignore label, class names.

A built-in dataset (``libs/datasets/data_generator``: ade20k,
pascal_voc_seg, celeba_mask, cityscapes, synthetic_shapes) is described by
its name.  Any other name is a dataset of the config's own: ``[data]``
gives ``num_classes`` and ``ignore_label`` (and optionally
``class_names``), and the split sizes are counted from its records, so it
trains, validates and tests with no change to the code::

    [data]
    dataset = my_streets
    dataset_dir = ../dataset/my_streets/tfrecord
    num_classes = 4
    ignore_label = 255
    class_names = background, road, car, person   ; or a file, one per line

``class_names`` is either a comma-separated list or the path of a text
file holding one name per line; a relative path is looked up from the
working directory, then the config file's folder, then the repository root.
"""
import os

from libs.datasets import data_generator
from libs.datasets import dataset_classes
from li_programs.config.config import ConfigError
from li_programs.config.config import REPO_ROOT


def _option(cfg, name):
  try:
    return getattr(cfg, name)
  except AttributeError:
    return None


def _where(cfg, key):
  config_file = _option(cfg, 'config_file') or 'config'
  return '%s [data] %s' % (config_file, key)


def descriptor_of(cfg):
  """The DatasetDescriptor of ``cfg.dataset``.

  Raises:
    ConfigError: an unknown dataset without ``num_classes`` and
      ``ignore_label``, values that contradict a built-in dataset's, or
      values that cannot describe a dataset.
  """
  name = cfg.dataset
  num_classes = _option(cfg, 'num_classes')
  ignore_label = _option(cfg, 'ignore_label')
  if name in data_generator.dataset_names():
    known = data_generator.get_descriptor(name)
    for key, given, builtin in (('num_classes', num_classes,
                                 known.num_classes),
                                ('ignore_label', ignore_label,
                                 known.ignore_label)):
      if given is not None and given != builtin:
        raise ConfigError(
            '%s = %d contradicts the built-in dataset %s (%s = %d); remove '
            'the key, or give your dataset a name of its own'
            % (_where(cfg, key), given, name, key, builtin))
    return known
  missing = [key for key, value in (('num_classes', num_classes),
                                    ('ignore_label', ignore_label))
             if value is None]
  if missing:
    raise ConfigError(
        '%s: dataset %r is not built in (built in: %s); a dataset of your '
        'own needs %s in [data] (see docs/own_dataset.md)'
        % (_option(cfg, 'config_file') or 'config', name,
           ', '.join(data_generator.dataset_names()),
           ' and '.join(missing)))
  if num_classes < 2 or num_classes > 256:
    raise ConfigError('%s must lie in 2..256 (labels are 8-bit), got %d'
                      % (_where(cfg, 'num_classes'), num_classes))
  if not (ignore_label == 0 or num_classes <= ignore_label <= 255):
    raise ConfigError(
        '%s must be 0 (label 0 means unlabelled, as in ADE20K) or a value '
        'above the class ids, %d..255 (e.g. 255), got %d'
        % (_where(cfg, 'ignore_label'), num_classes, ignore_label))
  return data_generator.DatasetDescriptor(
      splits_to_sizes=None, num_classes=num_classes, ignore_label=ignore_label)


def _find_names_file(cfg, path):
  path = os.path.expanduser(path)
  candidates = [path]
  if not os.path.isabs(path):
    config_file = _option(cfg, 'config_file')
    if config_file:
      candidates.append(os.path.join(os.path.dirname(config_file), path))
    candidates.append(os.path.join(REPO_ROOT, path))
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  raise ConfigError('%s: no file %s (looked in %s); give the names as a '
                    'comma-separated list or the path of a file with one '
                    'name per line'
                    % (_where(cfg, 'class_names'), path,
                       ', '.join(os.path.dirname(os.path.abspath(c)) or '.'
                                 for c in candidates)))


def parse_class_names(cfg, value):
  """The names written in ``value`` (a comma list or a file)."""
  if ',' in value:
    return [n.strip() for n in value.split(',')]
  path = _find_names_file(cfg, value.strip())
  with open(path, encoding='utf-8') as f:
    return [line.strip() for line in f if line.strip()]


def class_names_of(cfg, descriptor=None):
  """One name per label value ``0 .. num_classes - 1``: the config's
  ``class_names``, else the built-in table's (libs/datasets/
  dataset_classes.py), else ``class_<i>``.

  Raises:
    ConfigError: ``class_names`` gives another number of names than the
      dataset has classes, or an empty name.
  """
  descriptor = descriptor or descriptor_of(cfg)
  value = _option(cfg, 'class_names')
  if not value:
    return dataset_classes.class_names(cfg.dataset, descriptor.num_classes)
  names = parse_class_names(cfg, value)
  if len(names) != descriptor.num_classes or not all(names):
    raise ConfigError(
        '%s gives %d names (%s); the dataset has %d classes, one name per '
        'label value 0..%d' % (
            _where(cfg, 'class_names'), len(names),
            'one of them empty' if not all(names) else 'one per line or '
            'comma-separated', descriptor.num_classes,
            descriptor.num_classes - 1))
  return tuple(names)


def palette_of(cfg, descriptor=None):
  """The colour table of the dataset (dataset_classes.palette)."""
  descriptor = descriptor or descriptor_of(cfg)
  return dataset_classes.palette(cfg.dataset, descriptor.num_classes)


def scored_classes(names, ignore_label):
  """``[(label value, name)]`` of the rows of the confusion matrix that are
  classes (li_programs.evaluate.metrics): with ignore label 0 (ADE20K), row
  ``i`` counts label ``i + 1`` and the last row is no class."""
  if ignore_label == 0:
    return [(i + 1, names[i + 1]) for i in range(len(names) - 1)]
  return list(enumerate(names))
