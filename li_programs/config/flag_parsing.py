"""The command-line spellings of the original's absl flags.

Every option is a flag of the same name, written as absl reads it:
``--name=value``, ``--name value``, one dash (``-name=value``,
``-name value``), booleans also ``--name`` / ``--noname``.  The original's
README also writes ``--calculate_model_flops_and_params True``: absl sets
the flag by its bare name and leaves ``True`` as an unused argument; here a
boolean flag followed by one of absl's boolean words (``true``, ``false``,
``t``, ``f``, ``1``, ``0``, any case) takes that word as its value, so
``--name False`` means false, as its writer meant.
"""
import difflib

from li_programs.config import config_schema as schema
from li_programs.config.config_errors import ConfigError

CONFIG_FILE = 'config_file'
# absl's boolean words (absl lowercases the value before comparing).
BOOL_WORDS = ('true', 'false', 't', 'f', '1', '0')
HELP_FLAGS = ('-h', '--help', '-help', '--helpfull', '-helpfull')


def flag_body(arg):
  """``name[=value]`` of a flag argument (``--name...`` or ``-name...``),
  or None for anything else (a plain word, a negative number, ``--``)."""
  if arg.startswith('--'):
    body = arg[2:]
  elif arg.startswith('-'):
    body = arg[1:]
  else:
    return None
  if not body or not (body[0].isalpha() or body[0] == '_'):
    return None
  return body


def is_help(arg):
  return arg in HELP_FLAGS


def flag_suggestion(name):
  """`` (did you mean --x?)`` for an unknown flag name, or ''.

  Dashes are read as underscores (``--config-file`` -> ``--config_file``).
  """
  known = list(schema.OPTIONS_BY_NAME) + [CONFIG_FILE]
  underscored = name.replace('-', '_')
  if underscored != name and underscored in known:
    matches = [underscored]
  else:
    matches = difflib.get_close_matches(underscored, known, n=3, cutoff=0.6)
  if not matches:
    return ''
  return ' (did you mean %s?)' % ', '.join('--' + m for m in matches)


class FlagValueMissing(ValueError):
  """A flag of ``take_flags`` given without its value: it ends the command
  line, or another flag follows it.  ``flag`` is the argument as given,
  ``name`` the flag's name."""

  def __init__(self, flag, name):
    super(FlagValueMissing, self).__init__('flag %s needs a value' % flag)
    self.flag = flag
    self.name = name


def take_flags(argv, names):
  """Takes the flags ``names`` out of ``argv``, each spelt ``--name value``,
  ``--name=value`` or with one dash.

  Returns:
    ``({name: value}, remaining_argv)``; the last value given wins.

  Raises:
    FlagValueMissing: such a flag without ``=`` ends ``argv`` or is
      followed by another flag.
  """
  found, rest = {}, []
  argv = list(argv)
  i = 0
  while i < len(argv):
    arg = argv[i]
    i += 1
    name, has_value, value = (flag_body(arg) or '').partition('=')
    if not name or name not in names:
      rest.append(arg)
      continue
    if not has_value:
      if i >= len(argv) or flag_body(argv[i]) is not None:
        raise FlagValueMissing(arg, name)
      value = argv[i]
      i += 1
    found[name] = value
  return found, rest


def split_config_file(argv):
  """Takes ``--config_file`` (any spelling, with ``=`` or a space) out of
  ``argv``.

  Returns:
    ``(config_file or None, remaining_argv)``; the last one given wins.

  Raises:
    ConfigError: ``--config_file`` without a value.
  """
  try:
    found, rest = take_flags(argv, (CONFIG_FILE,))
  except FlagValueMissing as err:
    raise ConfigError('flag %s needs a value (an .ini file)'
                      % err.flag) from err
  return found.get(CONFIG_FILE), rest


def find_config_file(argv):
  """The value of ``--config_file`` anywhere in ``argv``, or None."""
  return split_config_file(argv)[0]


def _takes_next_as_value(option, argv, i):
  """Whether ``argv[i]`` is the value of ``option`` given without ``=``."""
  if i >= len(argv):
    return False
  if option.type == 'bool':
    return argv[i].lower() in BOOL_WORDS
  return flag_body(argv[i]) is None


def parse_flags(argv):
  """Parses the option flags of ``argv`` (``--config_file`` is skipped).

  Returns:
    An ordered list of ``(option, raw value)``; list options may be
    repeated, each occurrence adding its items.

  Raises:
    ConfigError: an unknown flag (with close matches), a flag without its
      value, or an argument that is no flag.
  """
  _, argv = split_config_file(argv)
  parsed = []
  bare_boolean = None  # the previous argument, when a value-less boolean
  i = 0
  while i < len(argv):
    arg = argv[i]
    i += 1
    body = flag_body(arg)
    if body is None:
      after = (' (after %s, which takes no value)' % bare_boolean
               if bare_boolean else '')
      raise ConfigError('unexpected command-line argument %r%s; options are '
                        'given as --name=value' % (arg, after))
    bare_boolean = None
    dashes = arg[:len(arg) - len(body)]
    name, has_value, value = body.partition('=')
    option = schema.OPTIONS_BY_NAME.get(name)
    if option is None and name.startswith('no'):
      negated = schema.OPTIONS_BY_NAME.get(name[2:])
      if negated is not None and negated.type == 'bool':
        if has_value:
          raise ConfigError('flag %s takes no value; write %s%s=false (or '
                            '=true)' % (arg.split('=')[0], dashes, name[2:]))
        parsed.append((negated, 'false'))
        bare_boolean = arg
        continue
    if option is None:
      raise ConfigError('unknown flag %s%s%s'
                        % (dashes, name, flag_suggestion(name)))
    if not has_value:
      if _takes_next_as_value(option, argv, i):
        value = argv[i]
        i += 1
      elif option.type == 'bool':
        value = 'true'
        bare_boolean = arg
      else:
        raise ConfigError('flag %s%s needs a value' % (dashes, name))
    parsed.append((option, value))
  return parsed
