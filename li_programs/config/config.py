"""INI configs with command-line overrides, the one way programs read options.

A program (train / val / test) sees the options of the sections ``[data]``,
``[model]``, ``[lateral_inhibition]`` and its own section, each with a
default from ``config_schema``, then every ``--option`` given on the command
line.  Sections that belong to other programs are still checked (known keys,
right types) so a typo anywhere in a file is reported at once.

Relative paths written in a config file resolve against ``runners/``, the
folder the original's programs ran in, so an INI written for the original
(``../../dataset/...``) works unchanged, and from any working directory;
relative paths given as flags resolve against the current directory, as a
shell user expects.  A key missing from the INI takes the original's flag
default (``config_schema``).  Flags: ``flag_parsing``.
"""
import ast
import configparser
import difflib
import os
import sys

from li_models import registry
from li_programs.config import config_schema as schema
from li_programs.runtime import repository
from li_programs.config import flag_parsing
from li_programs.config.config_errors import ConfigError  # also re-exported

REPO_ROOT = repository.REPO_ROOT
# Relative paths written in a config file resolve against this folder: the
# original's programs ran there (``cd runners``), its INIs say ``../../``.
CONFIG_PATH_BASE = os.path.join(os.path.realpath(REPO_ROOT), 'runners')
_TRUE = ('true', 'yes', '1', 'on', 't')
_FALSE = ('false', 'no', '0', 'off', 'f')
_NONE = ('', 'none')
flag_suggestion = flag_parsing.flag_suggestion
find_config_file = flag_parsing.find_config_file


def _close_matches(word, candidates):
  matches = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
  return ' (did you mean %s?)' % ', '.join(matches) if matches else ''


def _strip_inline_comment(value):
  for marker in (' ;', ' #', '\t;', '\t#'):
    index = value.find(marker)
    if index >= 0:
      value = value[:index]
  return value.strip()


def _check_minimum(option, value, where):
  """``value`` (a number or a list) if it keeps ``option.minimum``."""
  problem = schema.bound_violation(option, value)
  if problem:
    raise ConfigError('%s: %s' % (where, problem))
  return value


def parse_value(option, raw, where):
  """Converts the text ``raw`` of ``option``; ``where`` names its origin."""
  text = raw.strip()
  if option.default is schema.REQUIRED and text.lower() in _NONE:
    raise ConfigError('%s: %s needs a value' % (where, option.name))
  if text.lower() in _NONE and option.type != 'str':
    return None
  try:
    if option.type == 'bool':
      if text.lower() in _TRUE:
        return True
      if text.lower() in _FALSE:
        return False
      raise ValueError
    if option.type == 'int':
      return _check_minimum(option, int(text), where)
    if option.type == 'float':
      return _check_minimum(option, float(text), where)
    if option.type in ('int_list', 'float_list'):
      convert = int if option.type == 'int_list' else float
      items = [t.strip() for t in text.strip('[]()').split(',')]
      return _check_minimum(option, [convert(t) for t in items if t], where)
  except ConfigError:
    raise
  except ValueError as err:
    kind = {'bool': 'true or false', 'int': 'an integer', 'float': 'a number',
            'int_list': 'comma-separated integers',
            'float_list': 'comma-separated numbers'}[option.type]
    raise ConfigError('%s: %s must be %s, got %r' % (where, option.name, kind,
                                                      raw)) from err
  if option.type == 'str' and text.lower() == 'none' and option.default is None:
    return None
  if option.choices and text not in option.choices:
    raise ConfigError('%s: %s must be one of %s, got %r%s' % (
        where, option.name, ', '.join(option.choices), text,
        _close_matches(text, option.choices)))
  return text


class Config(object):
  """Options of one program: attribute access, ``to_dict()``;
  ``ini_keys``: the options whose value comes from the INI file (not a
  flag, not a default)."""

  def __init__(self, values, config_file, mode, ini_keys=()):
    self.__dict__['_values'] = values
    self.__dict__['ini_keys'] = frozenset(ini_keys)
    self.__dict__['config_file'] = config_file
    self.__dict__['config_name'] = os.path.splitext(
        os.path.basename(config_file))[0]
    self.__dict__['mode'] = mode

  def __getattr__(self, name):
    try:
      return self._values[name]
    except KeyError:
      raise AttributeError('no config option %r%s' % (
          name, _close_matches(name, self._values))) from None

  def __setattr__(self, name, value):
    if name not in self._values:
      raise AttributeError('no config option %r' % name)
    self._values[name] = value

  def to_dict(self):
    return dict(self._values)

  def __repr__(self):
    return 'Config(%s, mode=%s)' % (self.config_file, self.mode)


def _read_text(config_file):
  """The file's text; a ConfigError naming the file when it is not text."""
  with open(config_file, 'rb') as f:
    data = f.read()
  nul = data.find(b'\x00')
  if nul >= 0:
    raise ConfigError('%s is not a text INI file (binary data at byte %d); '
                      'pass a config such as config/ADE20K/liMnv2_liAspp.ini'
                      % (config_file, nul))
  try:
    return data.decode('utf-8-sig')
  except UnicodeDecodeError as err:
    line = data[:err.start].count(b'\n') + 1
    raise ConfigError('%s line %d: not UTF-8 text (byte 0x%02x); is it an '
                      'INI config?' % (config_file, line,
                                       data[err.start])) from err


def _syntax_error(config_file, err):
  """A one-line ConfigError naming the line of a configparser error."""
  if isinstance(err, configparser.MissingSectionHeaderError):
    return ConfigError(
        '%s line %d: %r comes before any [section] header; start the file '
        'with a section such as [data]' % (config_file, err.lineno,
                                           err.line.strip()))
  if isinstance(err, configparser.ParsingError):
    lineno, line = err.errors[0]
    try:  # configparser keeps the repr() of the offending line
      line = ast.literal_eval(line)
    except (ValueError, SyntaxError):
      pass
    return ConfigError('%s line %d: cannot parse %r; write key = value or '
                       '[section]' % (config_file, lineno, str(line).strip()))
  if isinstance(err, configparser.DuplicateSectionError):
    return ConfigError('%s line %s: section [%s] appears twice'
                       % (config_file, err.lineno, err.section))
  if isinstance(err, configparser.DuplicateOptionError):
    return ConfigError('%s line %s: key %r appears twice in [%s]'
                       % (config_file, err.lineno, err.option, err.section))
  return ConfigError('%s: cannot parse: %s'
                     % (config_file, str(err).splitlines()[0]))


def _read_ini(config_file):
  """Returns {section: {key: (raw value, where)}} with every key checked."""
  if not os.path.isfile(config_file):
    raise ConfigError('config file not found: %s' % config_file)
  text = _read_text(config_file)
  parser = configparser.ConfigParser(
      inline_comment_prefixes=(';', '#'), interpolation=None,
      default_section='__no_default_section__')
  parser.optionxform = str  # keep key case so typos are reported as written
  try:
    parser.read_string(text, source=config_file)
  except configparser.Error as e:
    raise _syntax_error(config_file, e) from e
  sections = {}
  for section in parser.sections():
    if section not in schema.SECTIONS:
      raise ConfigError('%s: unknown section [%s]; sections are %s%s' % (
          config_file, section, ', '.join('[%s]' % s for s in schema.SECTIONS),
          _close_matches(section, schema.SECTIONS)))
    entries = {}
    for key, raw in parser.items(section):
      where = '%s [%s] %s' % (config_file, section, key)
      option = schema.OPTIONS_BY_NAME.get(key)
      if option is None:
        allowed = [o.name for o in schema.OPTIONS if section in o.sections]
        raise ConfigError('%s: unknown key %r in [%s]%s' % (
            config_file, key, section,
            _close_matches(key, allowed) or _close_matches(
                key, schema.OPTIONS_BY_NAME)))
      if section not in option.sections:
        raise ConfigError('%s: key %r does not belong in [%s]; it goes in %s'
                          % (config_file, key, section, ', '.join(
                              '[%s]' % s for s in option.sections)))
      raw = _strip_inline_comment(raw)
      parse_value(option, raw, where)  # type check every section
      entries[key] = (raw, where)
    sections[section] = entries
  return sections


def _print_notice(message):
  sys.stderr.write('note: %s\n' % message)
  sys.stderr.flush()


def _resolve_path(path, base):
  path = os.path.expanduser(path)
  return os.path.normpath(path if os.path.isabs(path)
                          else os.path.join(base, path))


def load_config(config_file, mode, argv=None, notify=_print_notice):
  """Options of program ``mode`` from ``config_file`` and the flags ``argv``.

  Args:
    config_file: path of the INI file.
    mode: 'train', 'val' or 'test'.
    argv: command-line arguments without the program name; may contain
      ``--config_file``, which is skipped.
    notify: ``fn(message)`` told about optional sections that are missing
      (default: one ``note:`` line on stderr); None to stay quiet.

  Raises:
    ConfigError: unknown section, key or flag; wrong type; bad choice;
      missing required option or section; unreadable file (line named).
  """
  if mode not in schema.MODES:
    raise ConfigError('mode must be one of %s, got %r' % (
        ', '.join(schema.MODES), mode))
  config_file = os.path.abspath(config_file)
  sections = _read_ini(config_file)
  flags = flag_parsing.parse_flags(list(argv or []))

  values = {}
  origins = {}
  for option in schema.OPTIONS:
    values[option.name] = (None if option.default is schema.REQUIRED
                           else option.default)
    if isinstance(option.default, list):
      values[option.name] = list(option.default)
  for section in schema.COMMON_SECTIONS + (mode,):
    for key, (raw, where) in sections.get(section, {}).items():
      option = schema.OPTIONS_BY_NAME[key]
      value = parse_value(option, raw, where)
      if option.type == 'path' and value is not None:
        value = _resolve_path(value, CONFIG_PATH_BASE)
      values[key] = value
      origins[key] = where

  list_flags_seen = set()
  for option, raw in flags:
    value = parse_value(option, raw, 'flag --%s' % option.name)
    if option.type == 'path' and value is not None:
      value = _resolve_path(value, os.getcwd())
    if option.type.endswith('_list') and value is not None:
      if option.name in list_flags_seen:
        value = values[option.name] + value
      list_flags_seen.add(option.name)
    values[option.name] = value
    origins[option.name] = 'flag --%s' % option.name

  for option in schema.OPTIONS:
    if option.default is schema.REQUIRED and values[option.name] is None:
      raise ConfigError('%s: required option %r is missing; set it in [%s] or '
                        'pass --%s' % (config_file, option.name,
                                       option.sections[0], option.name))
  _check_sections(config_file, sections, mode, values, notify)
  ini_keys = [key for key, where in origins.items()
              if not where.startswith('flag')]
  return Config(values, config_file, mode, ini_keys)


def _uses_lateral_inhibition(values):
  return registry.uses_li(values.get('model_variant'),
                         values.get('dpn_variant'))


def _format_default(option):
  value = option.default
  if isinstance(value, list):
    return ','.join(str(v) for v in value)
  return str(value)


def _check_sections(config_file, sections, mode, values, notify):
  """A program needs [data], [model], its own section and, for a model with
  LI layers, [lateral_inhibition] (the original stops without them).
  Without LI layers a missing [lateral_inhibition] is announced through
  ``notify`` with the defaults that stand in for it."""
  needed = ['data', 'model']
  uses_li = _uses_lateral_inhibition(values)
  if uses_li:
    needed.append('lateral_inhibition')
  needed.append(mode)
  for section in needed:
    if section not in sections:
      why = ('the model has LI layers (%s, %s)'
             % (values.get('model_variant'), values.get('dpn_variant'))
             if section == 'lateral_inhibition' else
             '%s reads it' % schema.PROGRAMS[mode] if section == mode else
             'every program reads it')
      raise ConfigError('%s has no [%s] section and %s; add the section '
                        '(see config/config_example/config_sample.ini)'
                        % (config_file, section, why))
  if not uses_li and 'lateral_inhibition' not in sections and notify:
    defaults = ', '.join(
        '%s=%s' % (o.name, _format_default(o)) for o in schema.OPTIONS
        if 'lateral_inhibition' in o.sections)
    notify('%s has no [lateral_inhibition] section; the model has no LI '
           'layers, so the defaults stand: %s' % (config_file, defaults))



def load_config_from_argv(mode, argv=None, program=None):
  """Entry-point helper: reads ``--config_file`` from argv; exits on errors.

  Prints a one-line ``error:`` message and exits with status 2 on a bad config
  or flag, as a command-line user expects, instead of a traceback.
  """
  argv = sys.argv[1:] if argv is None else list(argv)
  program = program or os.path.basename(sys.argv[0])
  try:
    config_file = find_config_file(argv)
    if config_file is None:
      raise ConfigError('--config_file is required, e.g. %s --config_file '
                        'config/ADE20K/liMnv2_liAspp.ini' % program)
    return load_config(config_file, mode, argv)
  except ConfigError as e:
    sys.stderr.write('%s: error: %s\n' % (program, e))
    sys.exit(2)
