"""Says whether a train.py is training into a train folder right now.

While it trains, train.py keeps ``<train_dir>/training_in_progress`` (JSON:
pid, host, start time of the process) and removes it when it exits, however
it exits short of ``kill -9``.  validate.py reads it to decide whether it may
delete checkpoints: TensorFlow's Saver rewrites the folder's ``checkpoint``
state from its own in-memory list at every save, so deleting a checkpoint
the running trainer still lists makes the state name files that are gone.
A marker left by a killed process is recognised (no such process on this
host, or another process under its pid) and ignored.  Taking the marker is
atomic: the check and the write happen under an ``flock`` of
``.training_in_progress.lock`` (trainers on one host) and the marker is
created with ``O_EXCL`` (trainers on several hosts sharing the folder), so
of trainers started at the same instant exactly one trains.

The same start also removes the temp files an interrupted checkpoint save
leaves behind (``*.tempstate*`` of the tensor bundle, ``*.tmp<hex>`` of an
atomic write), since no one else writes into the folder then.
"""
import fcntl
import glob
import json
import os
import re
import socket
import time

MARKER = 'training_in_progress'
LOCK_FILE = '.training_in_progress.lock'

_ATOMIC_TMP = re.compile(r'\.tmp[0-9a-f]{32}$')


class TrainingAlreadyRunning(ValueError):
  """Another live train.py holds the folder (one-line message)."""


class _FolderLock(object):
  """An exclusive ``flock`` on ``path`` while inside (created if needed;
  never deleted, so every process locks the same file)."""

  def __init__(self, path):
    self.path = path
    self._fd = None

  def __enter__(self):
    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(self._fd, fcntl.LOCK_EX)
    return self

  def __exit__(self, *unused_exc):
    fcntl.flock(self._fd, fcntl.LOCK_UN)
    os.close(self._fd)
    return False


def _create_exclusively(path, marker):
  """Writes ``marker`` to ``path`` unless the file exists; returns whether
  it did."""
  try:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
  except FileExistsError:
    return False
  with os.fdopen(fd, 'w') as f:
    json.dump(marker, f)
  return True


def _just_written(path, seconds=60):
  """True for a file changed in the last ``seconds`` (an unreadable
  marker older than that was left by a crash)."""
  try:
    return time.time() - os.path.getmtime(path) < seconds
  except OSError:
    return False


def _remove_stale(path):
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def _process_start_time(pid):
  """The kernel's start time of ``pid`` (clock ticks since boot), or None
  where /proc is unavailable."""
  try:
    with open('/proc/%d/stat' % pid) as f:
      stat = f.read()
  except (IOError, OSError):
    return None
  # Field 22; the command name (field 2) may contain spaces, so count from
  # the closing parenthesis.
  fields = stat[stat.rindex(')') + 2:].split()
  return fields[19] if len(fields) > 19 else None


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  except OSError:
    return False
  return True


def read_marker(train_dir):
  """The marker's dict, or None when there is none (or it is unreadable)."""
  try:
    with open(os.path.join(train_dir, MARKER)) as f:
      marker = json.load(f)
  except (IOError, OSError, ValueError):
    return None
  return marker if isinstance(marker, dict) else None


def is_live(marker):
  """True unless the marker's process is known to be gone.

  A marker from another host cannot be checked and counts as live.
  """
  if marker.get('host') != socket.gethostname():
    return True
  pid = marker.get('pid')
  if not isinstance(pid, int) or not _pid_alive(pid):
    return False
  started = marker.get('process_start')
  return started is None or _process_start_time(pid) in (None, started)


def describe(marker):
  return 'pid %s on %s, started %s' % (
      marker.get('pid'), marker.get('host'),
      time.strftime('%Y-%m-%d %H:%M:%S',
                    time.localtime(marker.get('started', 0))))


def running_trainer(train_dir):
  """The live marker of ``train_dir`` (see ``is_live``), or None."""
  marker = read_marker(train_dir)
  if marker is not None and is_live(marker):
    return marker
  return None


def orphaned_temp_files(train_dir):
  """Temp files of interrupted checkpoint saves in ``train_dir``."""
  found = glob.glob(os.path.join(glob.escape(train_dir), '*.tempstate*'))
  for path in glob.glob(os.path.join(glob.escape(train_dir), '*.tmp*')):
    if _ATOMIC_TMP.search(path):
      found.append(path)
  return sorted(p for p in found if os.path.isfile(p))


def remove_orphaned_temp_files(train_dir):
  """Deletes ``orphaned_temp_files``; returns ``(count, bytes)`` freed."""
  count = size = 0
  for path in orphaned_temp_files(train_dir):
    try:
      file_size = os.path.getsize(path)
      os.remove(path)
    except OSError:
      continue
    count += 1
    size += file_size
  return count, size


class TrainingMarker(object):
  """Context manager: holds the marker of ``train_dir`` while training.

  Entering refuses a folder another live train.py holds, replaces a stale
  marker and removes orphaned checkpoint temp files (printing one line);
  leaving removes the marker if it is still this process's.
  """

  def __init__(self, train_dir, log=print):
    self.train_dir = train_dir
    self.path = os.path.join(train_dir, MARKER)
    self._log = log

  def __enter__(self):
    os.makedirs(self.train_dir, exist_ok=True)
    marker = {'pid': os.getpid(), 'host': socket.gethostname(),
              'started': time.time(),
              'process_start': _process_start_time(os.getpid())}
    # Checking for a live marker and writing ours is one step for every
    # trainer on this host (the lock); O_EXCL makes taking a free marker
    # atomic on shared folders too.
    with _FolderLock(os.path.join(self.train_dir, LOCK_FILE)):
      while not _create_exclusively(self.path, marker):
        other = read_marker(self.train_dir)
        if other is None and _just_written(self.path):
          other = {}  # being written right now by another host's trainer
        if other is not None and other.get('pid') == os.getpid():
          break
        if other is not None and (other == {} or is_live(other)):
          raise TrainingAlreadyRunning(
              'another train.py (%s) is training into %s; wait for it to '
              'finish or stop it (if it is gone, delete %s)'
              % (describe(other) if other else 'just starting',
                 self.train_dir, self.path))
        _remove_stale(self.path)
    count, size = remove_orphaned_temp_files(self.train_dir)
    if count:
      self._log('Removed %d temp file(s) (%.1f MB) left in %s by an '
                'interrupted checkpoint save' % (count, size / 1e6,
                                                 self.train_dir))
    return self

  def __exit__(self, *unused_exc):
    marker = read_marker(self.train_dir)
    if marker is not None and marker.get('pid') == os.getpid():
      try:
        os.remove(self.path)
      except OSError:
        pass
    return False
