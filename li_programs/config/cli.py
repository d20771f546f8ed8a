"""The command line shared by train.py, validate.py and test.py.

``load_program_config`` reads ``--config_file`` plus ``--key value``
overrides (``-h`` prints every option); ``run_program`` turns user errors
into one-line messages and exit status 2.
"""
import os
import sys

from libs.core import error_text
from li_programs.config import config as config_lib
from li_programs.config import config_help
from li_programs.config import flag_parsing
from li_programs.runtime import run_record
from li_programs.runtime import write_errors

REPO_ROOT = config_lib.REPO_ROOT


class UsageError(ValueError):
  """Bad command line outside the config options (e.g. no --config_file)."""


class HelpRequested(Exception):
  """``-h`` / ``--help`` was given; carries the text to print."""

  def __init__(self, text):
    super(HelpRequested, self).__init__(text)
    self.text = text


def _misspelt_config_file_flag(argv):
  """A one-line hint when ``--config_file`` is missing but a look-alike
  (``--config-file``, ``--configfile``, ``--config``) was given."""
  for arg in argv:
    body = flag_parsing.flag_body(arg)
    if body is None:
      continue
    name = body.split('=', 1)[0]
    suggestion = flag_parsing.flag_suggestion(name)
    if '--config_file' in suggestion or name in ('config', 'cfg', 'c'):
      return 'unknown flag %s (did you mean --config_file?)' % arg.split('=')[0]
  return None


def split_config_file(argv):
  """Takes ``--config_file X`` / ``--config_file=X`` (or one dash) out of
  ``argv``.

  Returns:
    ``(config_file or None, remaining_argv)``.
  """
  try:
    return flag_parsing.split_config_file(argv)
  except config_lib.ConfigError as err:
    raise UsageError(str(err)) from err


def resolve_config_file(config_file):
  """A relative config path is looked up from the working directory, then
  from the repository root, so ``config/...`` works from anywhere."""
  if os.path.isabs(config_file) or os.path.exists(config_file):
    return os.path.abspath(config_file)
  candidate = os.path.join(REPO_ROOT, config_file)
  if os.path.exists(candidate):
    return candidate
  raise UsageError('config file %s not found (looked in %s and %s)'
                   % (config_file, os.getcwd(), REPO_ROOT))


def load_program_config(mode, argv):
  """Loads the config of a program run: config file plus flag overrides."""
  if any(flag_parsing.is_help(arg) for arg in argv):
    raise HelpRequested(config_help.format_help(mode))
  config_file, rest = split_config_file(argv)
  if not config_file:
    raise UsageError(_misspelt_config_file_flag(rest) or
                     '--config_file is required, e.g. --config_file '
                     'config/ADE20K/liMnv2_liAspp.ini (--help lists every '
                     'option)')
  return config_lib.load_config(resolve_config_file(config_file), mode, rest)


def _user_error_types():
  return (ValueError, IOError, config_lib.ConfigError)


def _first_line(err):
  return (write_errors.describe_os_error(err) or
          error_text.first_line(err))


def run_program(prog, main, argv):
  """Runs ``main(argv)`` and turns user errors into one-line messages.

  Returns the process exit status: ``main``'s return value (default 0), or
  2 after a configuration/input error. Set ``LI_CONVS_DEBUG=1`` to get the
  full traceback instead.  The run's ``run.json``
  (li_programs/runtime/run_record), when the program started one, is
  completed with the status, however the program ends.
  """
  status, error = 1, None
  run_record.forget()  # a record left open by an earlier in-process run
  try:
    try:
      status = main(argv)
    except HelpRequested as request:
      sys.stdout.write(request.text)
      status = 0
      return 0
    except _user_error_types() as err:
      error = _first_line(err)
      status = 2
      if os.environ.get('LI_CONVS_DEBUG'):
        raise
      sys.stderr.write('%s: error: %s\n' % (prog, error))
      return 2
    status = 0 if status is None else int(status)
    return status
  except SystemExit as stop:
    status = stop.code if isinstance(stop.code, int) else 1
    raise
  except KeyboardInterrupt:
    status, error = 130, 'interrupted (KeyboardInterrupt)'
    raise
  except BaseException as err:
    status, error = 1, error or '%s: %s' % (type(err).__name__,
                                            _first_line(err))
    raise
  finally:
    run_record.finish(status, error)


def run_command_line(prog, main, argv=None):
  """``run_program`` of a program's command line (``sys.argv[1:]`` when
  ``argv`` is None), in the graph mode the code is written for."""
  from libs.core import tf_compat  # imports TensorFlow: only when running
  tf_compat.use_graph_mode()
  return run_program(prog, main, sys.argv[1:] if argv is None else argv)
