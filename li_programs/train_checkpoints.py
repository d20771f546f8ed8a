"""Checkpoint bookkeeping of a train folder: names, listing, pruning, restoring.

A checkpoint is named by its prefix ``<train_dir>/model.ckpt-<step>``; the
folder's ``checkpoint`` state file lists the kept ones.
"""
import glob
import os
import re

import tensorflow.compat.v1 as tf

from li_programs import checkpoint_check
from li_programs import config_match


def global_step_of(checkpoint_path):
  """Global step encoded in ``model.ckpt-<step>``; None if there is none."""
  match = re.search(r'-(\d+)$', os.path.basename(checkpoint_path))
  return int(match.group(1)) if match else None


def checkpoint_exists(checkpoint_path):
  return os.path.isfile(checkpoint_path + '.index')


def checkpoint_files(checkpoint_path):
  """The files making up one V2 checkpoint that exist on disk."""
  files = []
  for suffix in ('.index', '.meta'):
    if os.path.isfile(checkpoint_path + suffix):
      files.append(checkpoint_path + suffix)
  shard = '[0-9]' * 5
  data = glob.glob(glob.escape(checkpoint_path) +
                   '.data-%s-of-%s' % (shard, shard))
  return files + sorted(data)


def list_checkpoints(train_dir):
  """Checkpoint prefixes listed in ``train_dir/checkpoint``, oldest first.

  Relative entries are resolved against ``train_dir``. Returns [] when the
  folder has no checkpoint state.
  """
  if not os.path.isdir(train_dir):
    return []
  state = tf.train.get_checkpoint_state(train_dir)
  if state is None:
    return []
  paths = list(state.all_model_checkpoint_paths)
  if not paths and state.model_checkpoint_path:
    paths = [state.model_checkpoint_path]
  resolved = []
  for path in paths:
    if not os.path.isabs(path):
      path = os.path.join(train_dir, path)
    if path not in resolved:
      resolved.append(path)
  return resolved


def prune_checkpoints(train_dir, keep):
  """Deletes the listed checkpoints of ``train_dir`` that are not in ``keep``.

  Only checkpoints named in the folder's ``checkpoint`` state are touched;
  any other file is left alone. The state is rewritten to list the kept
  checkpoints, the newest of them as the latest.

  Returns:
    The list of deleted files.
  """
  listed = list_checkpoints(train_dir)
  keep = [os.path.abspath(k) for k in keep]
  deleted = []
  remaining = []
  for path in listed:
    if os.path.abspath(path) in keep:
      remaining.append(path)
      continue
    for name in checkpoint_files(path):
      os.remove(name)
      deleted.append(name)
  if remaining:
    remaining.sort(key=lambda p: (global_step_of(p) or -1))
    tf.train.update_checkpoint_state(
        train_dir, remaining[-1], all_model_checkpoint_paths=remaining)
  return deleted


def restore_checkpoint(sess, saver, checkpoint_path, variables=None,
                       config_file=None):
  """Restores a checkpoint, with a one-line error when it is unusable.

  Args:
    variables: those ``saver`` restores (default: the graph's global
      variables); compared with the checkpoint's before restoring.
    config_file: the config the model was built from; when the checkpoint
      does not fit it, the error names the shipped config that would.

  Raises:
    li_programs.checkpoint_check.CheckpointError or one of its subclasses
    (CheckpointGone, CheckpointDamaged, CheckpointMismatch).
  """
  if variables is None:
    variables = sess.graph.get_collection('variables')
  checkpoint_check.restore(sess, saver, checkpoint_path, variables,
                           config_file, suggest=config_match.suggestion)
