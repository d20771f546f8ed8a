"""What a user may give as a checkpoint: its prefix, one of its files or its
folder.

``resolve`` turns ``.../model.ckpt-1000``, ``.../model.ckpt-1000.index``,
``.../model.ckpt-1000.data-00000-of-00001``, ``.../model.ckpt-1000.meta`` or
a folder (its latest checkpoint, read relative to the folder: see
checkpoint_state) into the checkpoint prefix TensorFlow reads, shared by
test.py and tools/visualize_li.py.
"""
import os
import re

from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_state

_FILE_SUFFIX = re.compile(r'(\.index|\.meta|\.data-\d{5}-of-\d{5})$')
_FORMS = ('give a checkpoint prefix such as .../train/model.ckpt-1000, one '
          'of its files (.index, .data-*) or its folder')


def resolve(path, what='checkpoint_path'):
  """``(prefix, how)``: the checkpoint ``path`` names and, when that is not
  ``path`` itself, a few words on how it was found (else None).

  Raises:
    checkpoint_check.CheckpointGone: no checkpoint there (one line naming
      ``what`` and the accepted forms).
  """
  given = path
  if os.path.isdir(path):
    latest = checkpoint_state.latest(path)
    if latest is None:
      raise checkpoint_check.CheckpointGone(
          '%s %s is a folder without a checkpoint (no checkpoint state, no '
          'model.ckpt-*.index): %s' % (what, given, _FORMS))
    return latest, 'the latest checkpoint in that folder'
  prefix = _FILE_SUFFIX.sub('', path)
  if checkpoint_check.exists(prefix):
    return prefix, None if prefix == given else 'the checkpoint of that file'
  raise checkpoint_check.CheckpointGone(
      '%s %s not found (no %s.index): %s' % (what, given, prefix, _FORMS))


def describe(given, prefix, how, what='checkpoint_path'):
  """The line saying which checkpoint ``given`` resolved to (None when it
  was the prefix itself)."""
  if how is None:
    return None
  return '%s %s: using %s, %s' % (what, given, prefix, how)
