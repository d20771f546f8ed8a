"""Restoring a checkpoint with one-line errors that say what is wrong.

Before restoring, the checkpoint's files are checked (the ``.index`` and
every ``.data-NNNNN-of-MMMMM`` shard) and its variable list is compared with
the variables to restore; a mismatch names up to five missing, reshaped and
unexpected variables.  A checkpoint whose files fail while being read is
reported as damaged; one whose files vanished meanwhile (another process
deleted it) as gone.
"""
import glob
import os
import re

import tensorflow.compat.v1 as tf

from libs.core import error_text

MAX_NAMES = 5

# Variables a training checkpoint holds beyond the model: the step counter,
# the optimisers' slots and accumulators.
_BOOKKEEPING = ('global_step', 'beta1_power', 'beta2_power')
_SLOT_SUFFIXES = ('/Momentum', '/Adam', '/Adam_1', '/ExponentialMovingAverage',
                  '/RMSProp', '/RMSProp_1')
_DATA_SHARD = re.compile(r'\.data-(\d{5})-of-(\d{5})$')


class CheckpointError(ValueError):
  """A checkpoint that cannot be used (one-line message)."""


class CheckpointGone(CheckpointError):
  """No checkpoint there (any more: another process may have deleted it)."""


class CheckpointDamaged(CheckpointError):
  """The checkpoint's files are truncated or corrupt."""


class CheckpointMismatch(CheckpointError):
  """The checkpoint holds other variables than the model needs."""


def exists(checkpoint_path):
  return os.path.isfile(checkpoint_path + '.index')


def missing_data_files(checkpoint_path):
  """The ``.data-*`` shard files of a checkpoint that are not on disk (the
  first shard when there is none at all)."""
  pattern = glob.escape(checkpoint_path) + '.data-?????-of-?????'
  present = set()
  total = 0
  for name in glob.glob(pattern):
    match = _DATA_SHARD.search(name)
    if match:
      present.add(int(match.group(1)))
      total = max(total, int(match.group(2)))
  total = total or 1
  return ['%s.data-%05d-of-%05d' % (checkpoint_path, i, total)
          for i in range(total) if i not in present]


def checkpoint_shapes(checkpoint_path):
  """``{variable name: shape}`` read from the checkpoint's ``.index``.

  Raises:
    CheckpointError: no checkpoint there; CheckpointDamaged: unreadable.
  """
  if not exists(checkpoint_path):
    raise CheckpointGone('checkpoint %s not found (no %s.index)'
                         % (checkpoint_path, checkpoint_path))
  try:
    return {name: list(shape)
            for name, shape in tf.train.list_variables(checkpoint_path)}
  except tf.errors.OpError as err:
    if not exists(checkpoint_path):
      raise CheckpointGone('checkpoint %s was deleted while being read'
                           % checkpoint_path) from err
    raise CheckpointDamaged(
        'checkpoint %s is damaged: %s.index cannot be read (%s); copy it '
        'again or use another checkpoint'
        % (checkpoint_path, checkpoint_path,
           error_text.first_line(err))) from err


def is_bookkeeping(name):
  """Optimiser slots and counters, which a model does not need."""
  return name in _BOOKKEEPING or name.endswith(_SLOT_SUFFIXES)


def compare(checkpoint, wanted):
  """Differences between two ``{name: shape}`` maps.

  Returns:
    ``(missing, reshaped, unexpected)``: names wanted but absent from the
    checkpoint; ``(name, checkpoint shape, wanted shape)`` of those whose
    shapes differ; checkpoint names not wanted (optimiser bookkeeping left
    out).
  """
  missing = sorted(n for n in wanted if n not in checkpoint)
  reshaped = sorted((n, checkpoint[n], wanted[n]) for n in wanted
                    if n in checkpoint and list(checkpoint[n]) !=
                    list(wanted[n]))
  unexpected = sorted(n for n in checkpoint
                      if n not in wanted and not is_bookkeeping(n))
  return missing, reshaped, unexpected


def _names(names):
  shown = ', '.join(names[:MAX_NAMES])
  if len(names) > MAX_NAMES:
    shown += ', ...'
  return shown


def describe_mismatch(missing, reshaped, unexpected):
  """'3 variables missing from it (a, b, c), ...' (one line)."""
  parts = []
  if missing:
    parts.append('%d variable(s) the model needs are missing from it (%s)'
                 % (len(missing), _names(missing)))
  if reshaped:
    shown = ['%s: checkpoint %s, model %s' % r for r in reshaped[:MAX_NAMES]]
    parts.append('%d have other shapes (%s%s)' % (
        len(reshaped), '; '.join(shown),
        '; ...' if len(reshaped) > MAX_NAMES else ''))
  if unexpected:
    parts.append('%d in it are unknown to the model (%s)'
                 % (len(unexpected), _names(unexpected)))
  return ', '.join(parts)


def variable_shapes(variables):
  return {v.op.name: v.shape.as_list() for v in variables}


def check_fits(checkpoint_path, variables, config_file=None,
               suggest=None, strict=False):
  """Raises CheckpointMismatch unless every variable is in the checkpoint
  with its shape (and, when ``strict``, every model variable of the
  checkpoint is one of them).

  Args:
    variables: the tf.Variables to restore.
    config_file: the config the model was built from (named in the error).
    suggest: optional ``fn(checkpoint shapes) -> text`` appended to the
      error (e.g. the shipped configs that fit).
    strict: compare both ways, as resuming a run must: a checkpoint with
      model variables the model lacks comes from another architecture.
  """
  stored = checkpoint_shapes(checkpoint_path)
  missing, reshaped, unexpected = compare(stored, variable_shapes(variables))
  if not missing and not reshaped and not (strict and unexpected):
    return
  model = 'the model of %s' % config_file if config_file else 'the model'
  if (missing and all(is_bookkeeping(n) for n in missing) and
      not reshaped and not (strict and unexpected)):
    raise CheckpointMismatch(
        'checkpoint %s fits %s but not its optimizer: %d optimizer '
        'variable(s) missing from it (%s); resume with the optimizer it was '
        'trained with, or train into a new folder' % (
            checkpoint_path, model, len(missing), _names(missing)))
  message = 'checkpoint %s does not fit %s: %s' % (
      checkpoint_path, model, describe_mismatch(missing, reshaped,
                                                unexpected))
  if suggest is not None:
    hint = suggest(stored)
    if hint:
      message += '; ' + hint
  raise CheckpointMismatch(message)


def check_files(checkpoint_path):
  """Raises CheckpointError unless the ``.index`` and every data shard of
  the checkpoint are on disk."""
  if not exists(checkpoint_path):
    raise CheckpointGone('checkpoint %s not found (no %s.index)'
                         % (checkpoint_path, checkpoint_path))
  if missing_data_files(checkpoint_path):
    raise restore_failure(checkpoint_path, None)


def restore(sess, saver, checkpoint_path, variables, config_file=None,
            suggest=None, strict=False):
  """``saver.restore`` with the checks above and one-line errors.

  Args:
    sess, saver: as for ``tf.train.Saver.restore``.
    variables: the variables ``saver`` restores (compared first).
    config_file, suggest, strict: see ``check_fits``.

  Raises:
    CheckpointError (or its subclasses CheckpointGone, CheckpointDamaged,
    CheckpointMismatch).
  """
  check_files(checkpoint_path)
  check_fits(checkpoint_path, variables, config_file, suggest, strict)
  try:
    saver.restore(sess, checkpoint_path)
  except tf.errors.OpError as err:
    raise restore_failure(checkpoint_path, err) from err


def restore_failure(checkpoint_path, err):
  """The CheckpointError to raise after restoring ``checkpoint_path`` failed
  with the TensorFlow error ``err``."""
  if not exists(checkpoint_path):
    return CheckpointGone('checkpoint %s was deleted while being restored'
                          % checkpoint_path)
  missing = missing_data_files(checkpoint_path)
  if missing:
    return CheckpointError(
        'checkpoint %s is incomplete: %s is missing (the .index is there); '
        'copy the .data file(s) beside the .index, or use another checkpoint'
        % (checkpoint_path, ', '.join(os.path.basename(m) for m in missing)))
  return CheckpointDamaged(
      'checkpoint %s is damaged: its data is truncated or corrupt (%s); '
      'copy it again or use another checkpoint'
      % (checkpoint_path, error_text.first_line(err)))
