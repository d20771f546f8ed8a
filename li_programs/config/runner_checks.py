"""Checks and choices of the runner scripts (runners/*.sh), before a long run.

The runners call ``main`` (through ``runners/common.sh``):

  dataset CONFIG MODE [ARGS...]
      The dataset folder of the config (after the flags ARGS) must exist.
  train CONFIG [ARGS...]
      The dataset folder and the initial checkpoint must exist; prints
      ``NUM_CLONES=<n>`` and ``GPUS=<g>`` (nothing for NUM_CLONES when ARGS
      set ``num_clones``): the towers train.py gets.

``--snapshots ROOT`` before the command (the runners pass ``LI_SNAPSHOTS``)
moves the snapshot folder: an initial checkpoint the config names inside
the default ``<repo>/../LI-Convs-snapshots`` is taken from ROOT instead
(``INITIAL_CHECKPOINT=<path>`` is printed) unless ARGS name one.

Errors are one line, ``<runner>: error: ...`` (``LI_RUNNER`` names it),
exit status 2.
"""
import os
import sys

from li_programs.config import config as config_lib
from li_programs.config import flag_parsing
from li_programs.runtime import run_folders

REPO_ROOT = config_lib.REPO_ROOT
DEFAULT_SNAPSHOTS = os.path.join(os.path.dirname(os.path.realpath(REPO_ROOT)),
                                 'LI-Convs-snapshots')


class RunnerError(ValueError):
  """A runner cannot start; one-line message."""


def check_dataset(cfg):
  if not os.path.isdir(cfg.dataset_dir):
    raise RunnerError('dataset folder %s not found; build the dataset with '
                      'the scripts in dataset_generation/ or pass '
                      '--dataset_dir=...' % cfg.dataset_dir)


def visible_gpus():
  """Number of GPUs TensorFlow sees (TensorFlow's start-up messages on
  stderr are dropped: the runner prints one line about it)."""
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 2)
    import tensorflow.compat.v1 as tf
    return len(tf.config.experimental.list_physical_devices('GPU'))
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def training_clones(num_gpus, train_batch_size):
  """Towers for ``num_gpus`` GPUs: one per GPU (at least one), lowered to
  the largest count that divides ``train_batch_size``."""
  clones = max(1, int(num_gpus))
  while clones > 1 and train_batch_size % clones:
    clones -= 1
  return clones


def sets_option(args, name):
  """Whether the flags ``args`` set option ``name`` (any spelling)."""
  return any(option.name == name for option, _ in flag_parsing.parse_flags(
      args))


def rerooted_checkpoint(path, snapshots):
  """``path`` moved from the default snapshot folder to ``snapshots``, or
  None when it does not lie in the default one."""
  if not path or not snapshots:
    return None
  relative = os.path.relpath(path, DEFAULT_SNAPSHOTS)
  if relative == os.pardir or relative.startswith(os.pardir + os.sep):
    return None
  return os.path.join(os.path.abspath(snapshots), relative)


def _initial_checkpoint_exists(path):
  # A V2 checkpoint (path.index), or a file of that name; TensorFlow is not
  # imported for this.
  return os.path.isfile(path + '.index') or os.path.isfile(path)


def plan_training(config_file, args, snapshots=None, num_gpus=None):
  """The ``KEY=VALUE`` lines of the ``train`` command (see the docstring).

  Raises:
    RunnerError, ConfigError: the run could not start.
  """
  cfg = config_lib.load_config(config_file, 'train', args, notify=None)
  check_dataset(cfg)
  lines = []
  initial = cfg.tf_initial_checkpoint
  if not sets_option(args, 'tf_initial_checkpoint'):
    moved = rerooted_checkpoint(initial, snapshots)
    if moved:
      initial = moved
      lines.append('INITIAL_CHECKPOINT=%s' % moved)
  train_dir = run_folders.program_dirs(cfg).train
  resumes = os.path.isfile(os.path.join(train_dir, 'checkpoint'))
  if initial and not resumes and not _initial_checkpoint_exists(initial):
    raise RunnerError('initial checkpoint %s not found (no %s.index); put '
                      "the LI-Convs snapshots' init_models/ there or pass "
                      '--tf_initial_checkpoint=...' % (initial, initial))
  if not sets_option(args, 'num_clones'):
    gpus = visible_gpus() if num_gpus is None else num_gpus
    lines.append('NUM_CLONES=%d' % training_clones(gpus,
                                                   cfg.train_batch_size))
    lines.append('GPUS=%d' % gpus)
  return lines


def main(argv):
  runner = os.environ.get('LI_RUNNER', 'runner')
  argv = list(argv)
  snapshots = None
  if argv[:1] == ['--snapshots']:
    snapshots, argv = argv[1], argv[2:]
  try:
    if argv[0] == 'dataset':
      check_dataset(config_lib.load_config(argv[1], argv[2], argv[3:],
                                           notify=None))
    elif argv[0] == 'train':
      for line in plan_training(argv[1], argv[2:], snapshots):
        print(line)
    else:
      raise RunnerError('unknown command %r' % argv[0])
  except (RunnerError, config_lib.ConfigError) as err:
    sys.stderr.write('%s: error: %s\n' % (runner, err))
    return 2
  return 0
