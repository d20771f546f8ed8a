"""Checkpoint bookkeeping of a train folder: names, listing, pruning, restoring.

A checkpoint is named by its prefix ``<train_dir>/model.ckpt-<step>``; the
folder's ``checkpoint`` state file lists the kept ones.
"""
import glob
import os

from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_state
from li_programs.checkpoints import config_match


def global_step_of(checkpoint_path):
  """Global step encoded in ``model.ckpt-<step>``; None if there is none."""
  return checkpoint_state.step_of(checkpoint_path)


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
  """Checkpoint prefixes listed in ``train_dir/checkpoint``, oldest first,
  each resolved by its file name inside ``train_dir`` (see
  checkpoint_state).  Returns [] when the folder has no checkpoint state."""
  return checkpoint_state.listed(train_dir)


def all_checkpoints(train_dir):
  """The listed checkpoints and the ``model.ckpt-<step>`` ones present in
  ``train_dir`` (TensorFlow lists only the newest under ``max_to_keep``
  0 or unset), oldest first."""
  return checkpoint_state.scoreable(train_dir)


def prune_checkpoints(train_dir, keep):
  """Deletes the checkpoints of ``train_dir`` (``all_checkpoints``) that
  are not in ``keep``.

  Only checkpoint files inside ``train_dir`` are touched; any other file is
  left alone.  The state is rewritten to list the kept checkpoints by file
  name, the newest of them as the latest.

  Returns:
    The list of deleted files.
  """
  keep = [os.path.abspath(k) for k in keep]
  deleted = []
  remaining = []
  for path in all_checkpoints(train_dir):
    if os.path.abspath(path) in keep:
      if checkpoint_exists(path):
        remaining.append(path)
      continue
    for name in checkpoint_files(path):
      os.remove(name)
      deleted.append(name)
  if remaining:
    checkpoint_state.write(train_dir, remaining)
  return deleted


def restore_checkpoint(sess, saver, checkpoint_path, variables=None,
                       config_file=None, strict=False):
  """Restores a checkpoint, with a one-line error when it is unusable.

  Args:
    variables: those ``saver`` restores (default: the graph's global
      variables); compared with the checkpoint's before restoring.
    config_file: the config the model was built from; when the checkpoint
      does not fit it, the error names the shipped config that would.
    strict: also refuse a checkpoint holding model variables the model
      lacks (resuming: another architecture in the same folder).

  Raises:
    li_programs.checkpoints.checkpoint_check.CheckpointError or one of its
    subclasses (CheckpointGone, CheckpointDamaged, CheckpointMismatch).
  """
  if variables is None:
    variables = sess.graph.get_collection('variables')
  checkpoint_check.restore(sess, saver, checkpoint_path, variables,
                           config_file, suggest=config_match.suggestion,
                           strict=strict)
