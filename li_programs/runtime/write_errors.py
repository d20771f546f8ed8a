"""One-line messages for files that cannot be written: disk full, no
permission, a file where a folder should be, a read-only file system.

``describe_os_error`` words a Python ``OSError``; ``save_checkpoint`` runs
``Saver.save`` and turns TensorFlow's error for the same causes into a
``WriteError`` naming the checkpoint.  Neither loses anything already
written: a checkpoint save writes temp files and renames them only once
complete, so the previous checkpoint stays usable.
"""
import errno
import os

# errno -> (what happened, what to do).
_CAUSES = {
    errno.ENOSPC: ('no space left on device', 'free some space'),
    errno.EDQUOT: ('disk quota exceeded', 'free some space'),
    errno.EACCES: ('permission denied', 'make it writable or pick another '
                   'folder'),
    errno.EPERM: ('operation not permitted', 'make it writable or pick '
                  'another folder'),
    errno.EROFS: ('read-only file system', 'pick a writable folder'),
    errno.ENOTDIR: ('a file is in the way where a folder is needed',
                    'move that file or pick another folder'),
    errno.EISDIR: ('it is a folder, not a file', 'pick another path'),
}
# Words of TensorFlow's messages for the same causes.
_TF_WORDS = (('No space left on device', errno.ENOSPC),
             ('Disk quota exceeded', errno.EDQUOT),
             ('Permission denied', errno.EACCES),
             ('Read-only file system', errno.EROFS),
             ('Not a directory', errno.ENOTDIR))


class WriteError(IOError):
  """A file that could not be written (one-line message)."""


def describe_os_error(err):
  """``<path>: <cause>; <fix> and run again`` for an OSError of the kinds
  above, None for others."""
  if not isinstance(err, OSError) or err.errno not in _CAUSES:
    return None
  cause, fix = _CAUSES[err.errno]
  path = err.filename or '(unknown path)'
  if err.filename2:
    path = '%s -> %s' % (path, err.filename2)
  return '%s: %s; %s and run again' % (path, cause, fix)


def tf_error_errno(err):
  """The errno a TensorFlow error stands for (from its words), or None."""
  import tensorflow.compat.v1 as tf  # lazily: cli imports this module
  if not isinstance(err, tf.errors.OpError):
    return None
  text = str(getattr(err, 'message', err))
  if isinstance(err, tf.errors.ResourceExhaustedError) and (
      'space' in text.lower()):
    return errno.ENOSPC
  for words, code in _TF_WORDS:
    if words in text:
      return code
  if isinstance(err, tf.errors.PermissionDeniedError):
    return errno.EACCES
  return None


def save_checkpoint(saver, sess, prefix, step, previous=None):
  """``saver.save(sess, prefix, global_step=step)``; a WriteError naming
  the checkpoint, its folder and ``previous`` (the last complete
  checkpoint, kept) when the disk is full or not writable."""
  try:
    return saver.save(sess, prefix, global_step=step)
  except Exception as err:  # re-raised unless a write error
    code = (err.errno if isinstance(err, OSError) else tf_error_errno(err))
    if code not in _CAUSES:
      raise
    cause, fix = _CAUSES[code]
    kept = ('; the last complete checkpoint, %s, is kept and training '
            'resumes from it' % previous) if previous else ''
    raise WriteError('cannot write checkpoint %s-%d in %s: %s; %s and run '
                     'again%s' % (prefix, step, os.path.dirname(prefix),
                                  cause, fix, kept)) from err
