"""A train folder's checkpoint state, read relative to the folder itself.

TensorFlow's ``checkpoint`` state file may hold absolute paths (the Saver
writes them unless ``save_relative_paths``), which point into the folder's
old place once it is moved or copied.  Here every entry is resolved by its
file name inside the folder that holds the state file, so a moved or copied
run folder resumes, validates and prunes where it is and never reaches into
another folder.

The trainer's checkpoints are ``model.ckpt-<step>`` (``CHECKPOINT_BASENAME``).
With ``max_to_keep`` 0 or unset TensorFlow lists only the newest of them in
the state, so ``scoreable`` also takes those found on disk.
"""
import contextlib
import glob
import os
import re

import tensorflow.compat.v1 as tf

STATE_FILE = 'checkpoint'
CHECKPOINT_BASENAME = 'model.ckpt'
_STEP = re.compile(r'-(\d+)$')


def step_of(checkpoint_path):
  """Global step encoded in ``model.ckpt-<step>``; None if there is none."""
  match = _STEP.search(os.path.basename(checkpoint_path))
  return int(match.group(1)) if match else None


def exists(checkpoint_path):
  return os.path.isfile(checkpoint_path + '.index')


def _by_step(paths):
  return sorted(paths, key=lambda p: (step_of(p) is None, step_of(p) or 0, p))


@contextlib.contextmanager
def _tf_logging_quiet():
  """TensorFlow's warnings about a garbled state file (handled here) and
  its deprecation notice for updating the state are no news."""
  verbosity = tf.logging.get_verbosity()
  tf.logging.set_verbosity(tf.logging.ERROR)
  try:
    yield
  finally:
    tf.logging.set_verbosity(verbosity)


def _entries(folder):
  """``(latest, all)`` as written in the state file, or ``(None, [])``."""
  if not os.path.isfile(os.path.join(folder, STATE_FILE)):
    return None, []
  try:
    with _tf_logging_quiet():
      state = tf.train.get_checkpoint_state(folder)
  except tf.errors.OpError:
    state = None
  if state is None:
    return None, []
  return state.model_checkpoint_path or None, list(
      state.all_model_checkpoint_paths)


def in_folder(folder, entry):
  """The checkpoint an entry of ``folder``'s state names: its file name
  inside ``folder`` (never a path elsewhere)."""
  return os.path.join(os.path.abspath(folder),
                      os.path.basename(os.path.normpath(entry)))


def listed(folder):
  """Checkpoints the state of ``folder`` lists, resolved inside it, in the
  state's order (oldest first, the latest last); [] without a state."""
  if not os.path.isdir(folder):
    return []
  latest, paths = _entries(folder)
  if latest and latest not in paths:
    paths.append(latest)
  resolved = []
  for entry in paths:
    path = in_folder(folder, entry)
    if path not in resolved:
      resolved.append(path)
  return resolved


def on_disk(folder):
  """The trainer's checkpoints (``model.ckpt-<step>`` with an ``.index``)
  present in ``folder``, oldest first."""
  if not os.path.isdir(folder):
    return []
  pattern = os.path.join(glob.escape(os.path.abspath(folder)),
                         CHECKPOINT_BASENAME + '-*.index')
  found = [name[:-len('.index')] for name in glob.glob(pattern)]
  return _by_step(p for p in found if step_of(p) is not None)


def scoreable(folder):
  """Every checkpoint of ``folder``: those its state lists (present or
  not) and those on disk, oldest first."""
  paths = listed(folder)
  paths += [p for p in on_disk(folder) if p not in paths]
  return _by_step(paths)


def latest(folder):
  """The checkpoint a run in ``folder`` resumes from: the state's latest
  when its files are there, else the newest present one; None if none."""
  if not os.path.isdir(folder):
    return None
  newest, _ = _entries(folder)
  if newest and exists(in_folder(folder, newest)):
    return in_folder(folder, newest)
  present = [p for p in scoreable(folder) if exists(p)]
  return present[-1] if present else None


def needs_rewrite(folder):
  """True when the state names a checkpoint by a path (absolute or with a
  folder) instead of by its file name."""
  newest, paths = _entries(folder)
  return any(entry != os.path.basename(entry)
             for entry in ([newest] if newest else []) + paths)


def write(folder, paths):
  """Writes ``folder``'s state listing ``paths`` (the newest by step is the
  latest) by file name, so the state stays valid wherever the folder goes.
  Removes the state file when ``paths`` is empty."""
  state_file = os.path.join(folder, STATE_FILE)
  names = [os.path.basename(p) for p in _by_step(paths)]
  if not names:
    if os.path.isfile(state_file):
      os.remove(state_file)
    return
  with _tf_logging_quiet():
    tf.train.update_checkpoint_state(os.path.abspath(folder), names[-1],
                                     all_model_checkpoint_paths=names)


def repair(folder):
  """Makes TensorFlow's own reading of the state agree with ``latest``:
  rewrites a state that names checkpoints by path (see ``needs_rewrite``)
  or whose latest entry is gone while others are present, listing the
  present checkpoints by file name.  Returns whether it rewrote it."""
  newest = latest(folder)
  if newest is None:
    return False
  entry, _ = _entries(folder)
  if entry == os.path.basename(newest) and not needs_rewrite(folder):
    return False
  present = [p for p in listed(folder) if exists(p)]
  if newest not in present:
    present.append(newest)
  write(folder, present)
  return True
