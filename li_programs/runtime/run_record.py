"""``run.json``: what produced the results in a program's output folder.

Every program (train.py, validate.py, test.py, predict.py,
tools/export_model.py) calls ``start`` as soon as it knows its output
folder; ``cli.run_program`` calls ``finish`` with the exit status, whatever
way the program ends (success, a one-line error, an uncaught exception,
Ctrl-C).  The record::

    program, command (the process's argv), arguments (the program's),
    cwd, config_file, config (every option after the INI and the flags),
    git: {commit, dirty} (None outside a git checkout),
    versions: python, tensorflow, numpy,
    machine: platform, cpu, cpu_count, usable_cpus, gpus,
    start_time, end_time (ISO 8601, local time with offset),
    exit_status (None while running), error (the one-line message)

A run into a folder that holds an earlier ``run.json`` (a resumed
training, a second test) first appends that record as one line to
``run_history.jsonl``, so no record is lost.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

from li_programs.runtime.repository import REPO_ROOT

RUN_JSON = 'run.json'
RUN_HISTORY = 'run_history.jsonl'

_current = {}


def _now():
  return datetime.datetime.now().astimezone().isoformat(timespec='seconds')


def git_state(root=REPO_ROOT):
  """``{'commit': sha, 'dirty': bool}`` of the checkout at ``root``, or
  None when it is not a git checkout (or git is missing)."""
  if not os.path.exists(os.path.join(root, '.git')):
    return None
  try:
    commit = subprocess.run(
        ['git', '-C', root, 'rev-parse', 'HEAD'], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, universal_newlines=True, timeout=20)
    status = subprocess.run(
        ['git', '-C', root, 'status', '--porcelain', '--untracked-files=no'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        universal_newlines=True, timeout=20)
  except (OSError, subprocess.SubprocessError):
    return None
  if commit.returncode != 0 or status.returncode != 0:
    return None
  return {'commit': commit.stdout.strip(), 'dirty': bool(status.stdout.strip())}


def _cpu_name():
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.lower().startswith('model name'):
          return line.split(':', 1)[1].strip()
  except (IOError, OSError):
    pass
  return platform.processor() or platform.machine()


def _gpus():
  try:
    import tensorflow.compat.v1 as tf
    return [device.name for device in
            tf.config.experimental.list_physical_devices('GPU')]
  except Exception:  # no TensorFlow device API: report none
    return []


def machine():
  try:
    usable = len(os.sched_getaffinity(0))
  except AttributeError:
    usable = os.cpu_count()
  return {'platform': platform.platform(), 'cpu': _cpu_name(),
          'cpu_count': os.cpu_count(), 'usable_cpus': usable,
          'gpus': _gpus()}


def versions():
  import numpy as np
  found = {'python': platform.python_version(), 'numpy': np.__version__,
           'tensorflow': None}
  try:
    import tensorflow.compat.v1 as tf
    found['tensorflow'] = tf.version.VERSION
  except ImportError:
    pass
  return found


def _json_safe(value):
  if isinstance(value, dict):
    return {str(k): _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  return str(value)


def _write(path, record):
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(_json_safe(record), f, indent=2)
    f.write('\n')
  os.replace(temporary, path)


def start(program, folder, cfg=None, argv=(), arguments=None):
  """Writes ``<folder>/run.json`` (exit_status None) and makes it the
  record ``finish`` completes.  Returns its path.

  Args:
    program: e.g. 'test.py'.
    folder: the program's output folder (created).
    cfg: the loaded Config (li_programs.config.config), if any.
    argv: the program's arguments.
    arguments: other settings to record (predict.py's images, ...).
  """
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, RUN_JSON)
  if os.path.isfile(path):
    try:
      with open(path) as f:
        earlier = json.load(f)
      with open(os.path.join(folder, RUN_HISTORY), 'a') as f:
        f.write(json.dumps(earlier) + '\n')
    except (IOError, OSError, ValueError):
      pass  # an unreadable record is replaced
  record = {
      'program': program,
      'command': list(sys.argv),
      'arguments': list(argv),
      'cwd': os.getcwd(),
      'config_file': getattr(cfg, 'config_file', None),
      'config': cfg.to_dict() if cfg is not None else None,
      'settings': arguments or {},
      'git': git_state(),
      'versions': versions(),
      'machine': machine(),
      'start_time': _now(),
      'end_time': None,
      'exit_status': None,
      'error': None,
  }
  _write(path, record)
  _current.clear()
  _current.update(path=path, record=record)
  return path


def forget():
  """Drops the open record without completing it."""
  _current.clear()


def finish(exit_status, error=None):
  """Completes the record of the last ``start`` (nothing if none)."""
  if not _current:
    return None
  path, record = _current['path'], _current['record']
  _current.clear()
  record.update(end_time=_now(), exit_status=int(exit_status), error=error)
  try:
    _write(path, record)
  except (IOError, OSError):
    return None  # the folder went away: nothing to complete
  return path
