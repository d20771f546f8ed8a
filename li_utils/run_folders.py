"""The output folders of a program run, with the original's folder flags.

By default everything lives under ``<snapshot_root>/<config_name>``
(``eval_utils.output_dirs``). The original's flags move single folders:
``train_logdir`` (train.py's checkpoints and events), ``checkpoint_dir``
(where validate.py and test.py find the checkpoints), ``val_logdir``
(validation results, also read by test.py for the best checkpoint) and
``test_logdir`` (root of the test results; ``test_resdir`` moves one test
run's folder, see test.py).
"""
from li_utils import eval_utils


def _option(cfg, name):
  try:
    return getattr(cfg, name)
  except AttributeError:
    return None


def program_dirs(cfg):
  """``eval_utils.OutputDirs`` of ``cfg``'s program, overrides applied."""
  dirs = eval_utils.output_dirs(cfg.snapshot_root, cfg.config_name)
  train_override = (_option(cfg, 'train_logdir') if cfg.mode == 'train'
                    else _option(cfg, 'checkpoint_dir'))
  return dirs._replace(
      train=train_override or dirs.train,
      val=_option(cfg, 'val_logdir') or dirs.val,
      test=_option(cfg, 'test_logdir') or dirs.test)
