"""The output folders of a program run.

Layout under ``<snapshot_root>/<config_name>``::

    train/                       checkpoints and event files
    val/val_result.mat           miou (per checkpoint), ck_path
    val/val_result.txt
    test/<ckpt>[(best_val)]/eval_scale_<s1>_<s2>.../
        test_result.txt          "mIoU: xx.xx%, acc: xx.xx%"
        test_result.mat          hist_total, miou, acc, acc_cls, fwavacc
                                 [, test_mious, test_image_names]
        plots/<image>_plot.png
        model_flops_params.txt

By default everything lives under ``<snapshot_root>/<config_name>``
(``output_dirs``). The original's flags move single folders:
``train_logdir`` (train.py's checkpoints and events), ``checkpoint_dir``
(where validate.py and test.py find the checkpoints), ``val_logdir``
(validation results, also read by test.py for the best checkpoint) and
``test_logdir`` (root of the test results; ``test_resdir`` moves one test
run's folder, see test.py).
"""
import collections
import os

BEST_VAL_SUFFIX = '(best_val)'


class NotAFolderError(ValueError):
  """A file stands where an output folder should be (one-line message)."""

OutputDirs = collections.namedtuple('OutputDirs', ['root', 'train', 'val',
                                                   'test'])


def output_dirs(snapshot_root, config_name):
  """Returns the train/val/test folders of a config (not created)."""
  if not snapshot_root:
    raise ValueError('snapshot_root is not set (config [data] snapshot_root '
                     'or --snapshot_root)')
  root = os.path.join(os.path.abspath(snapshot_root), config_name)
  return OutputDirs(root, os.path.join(root, 'train'),
                    os.path.join(root, 'val'), os.path.join(root, 'test'))


def format_scale(scale):
  """1 -> '1.0', 0.75 -> '0.75' (Python's shortest float repr)."""
  return repr(float(scale))


def eval_scale_dirname(eval_scales):
  """Folder name of a test run: ``eval_scale_0.5_1.0_1.5``."""
  scales = list(eval_scales) if eval_scales else [1.0]
  return 'eval_scale_' + '_'.join(format_scale(s) for s in scales)


def test_output_dir(test_root, checkpoint_path, eval_scales, best_val=False):
  """``test/<checkpoint_name>[(best_val)]/eval_scale_...``."""
  name = os.path.basename(os.path.normpath(checkpoint_path))
  if best_val:
    name += BEST_VAL_SUFFIX
  return os.path.join(test_root, name, eval_scale_dirname(eval_scales))


def _option(cfg, name):
  try:
    return getattr(cfg, name)
  except AttributeError:
    return None


def program_dirs(cfg):
  """``OutputDirs`` of ``cfg``'s program, overrides applied."""
  dirs = output_dirs(cfg.snapshot_root, cfg.config_name)
  train_override = (_option(cfg, 'train_logdir') if cfg.mode == 'train'
                    else _option(cfg, 'checkpoint_dir'))
  return dirs._replace(
      train=train_override or dirs.train,
      val=_option(cfg, 'val_logdir') or dirs.val,
      test=_option(cfg, 'test_logdir') or dirs.test)


def _file_in_the_way(path):
  """The nearest existing ancestor of ``path`` (itself included) when it
  is not a folder, else None."""
  path = os.path.abspath(path)
  while not os.path.exists(path):
    parent = os.path.dirname(path)
    if parent == path:
      return None
    path = parent
  return None if os.path.isdir(path) else path


def check_folders(dirs, roles=('train', 'val', 'test')):
  """Raises NotAFolderError when a file stands where a folder of ``dirs``
  (OutputDirs; those named in ``roles``) or one above it would be."""
  for role in roles:
    folder = getattr(dirs, role)
    blocker = _file_in_the_way(folder)
    if blocker is not None:
      raise NotAFolderError(
          '%s is a file, not a folder, so the %s folder %s cannot be used: '
          'point snapshot_root (or the option that moves the %s folder) at '
          'a folder' % (blocker, role, folder, role))
