"""``--help`` text of train.py / validate.py / test.py, made from the option
table (``config_schema.OPTIONS``) so it can never drift from what the
programs accept."""
import textwrap

from li_programs.config import config_schema as schema

_SUMMARY = {
    'train': 'Trains a model; checkpoints and events go to '
             '<snapshot_root>/<config_name>/train.',
    'val': 'Evaluates every checkpoint of the train folder on val_split and '
           'records its mIoU in <snapshot_root>/<config_name>/val.',
    'test': 'Tests one checkpoint (checkpoint_path, checkpoint_name or the '
            'best on val) on test_split.',
}

_TYPE_NAMES = {'str': 'TEXT', 'path': 'PATH', 'int': 'INT', 'float': 'FLOAT',
               'bool': 'BOOL', 'int_list': 'INTS', 'float_list': 'FLOATS'}


def _default_text(option):
  if option.default is schema.REQUIRED:
    return 'required'
  value = option.default
  if value is None:
    return 'None'
  if isinstance(value, list):
    return ','.join(str(v) for v in value)
  if value == '':
    return "''"
  return str(value)


def _help_text(option):
  text = option.help
  if option.choices:
    text += ' One of: %s.' % ', '.join(option.choices)
  if option.minimum:
    each = ' (each)' if option.type.endswith('_list') else ''
    text += ' Must be %s%s.' % (option.minimum, each)
  return text


def program_sections(mode):
  """The INI sections a program reads, in order."""
  return schema.COMMON_SECTIONS + (mode,)


def options_of_section(section):
  """Options that may be written in ``section``, in table order."""
  return [o for o in schema.OPTIONS if section in o.sections]


def format_help(mode, width=79, program=None, usage=None, summary=None,
                extra_flags=()):
  """The full help of the program of ``mode`` ('train', 'val' or 'test').

  A program reading the options of ``mode`` under another name (predict.py
  reads test.py's) gives its ``program`` name, ``usage`` line, ``summary``
  and ``extra_flags`` (``[(flag, help)]``).
  """
  program = program or schema.PROGRAMS[mode]
  sections = program_sections(mode)
  intro = ('Options come from the INI file\'s %s sections; every option '
           'is also a flag of the same name and the command line wins: '
           '--name=value or --name value, booleans --name / --noname, lists '
           'comma-separated or repeated.'
           % ', '.join('[%s]' % s for s in sections))
  lines = [
      usage or 'usage: %s --config_file FILE.ini [--option=value ...]'
      % program,
      '',
      textwrap.fill(summary or _SUMMARY[mode], width),
      '',
      textwrap.fill(intro, width),
      '',
      '  --config_file FILE.ini (required)',
      '      The experiment config, e.g. config/ADE20K/liMnv2_liAspp.ini.',
      '  -h, --help',
      '      This help.',
  ]
  for flag, text in extra_flags:
    lines.append('  ' + flag)
    lines.extend(textwrap.wrap(text, width, initial_indent=' ' * 6,
                               subsequent_indent=' ' * 6))
  for section in sections:
    lines.extend(['', '[%s]' % section])
    for option in options_of_section(section):
      default = _default_text(option)
      lines.append('  --%s %s (%s)' % (
          option.name, _TYPE_NAMES[option.type],
          default if default == 'required' else 'default: ' + default))
      lines.extend(textwrap.wrap(_help_text(option), width,
                                 initial_indent=' ' * 6,
                                 subsequent_indent=' ' * 6))
  lines.append('')
  lines.append(textwrap.fill(
      'Relative paths in the INI file resolve against runners/ (where the '
      "original's programs ran), in flags against the current directory. "
      'Flags: --name=value, --name value, -name; booleans also --name, '
      '--noname, --name true|false. Errors are one line; set '
      'LI_CONVS_DEBUG=1 for the full traceback.', width))
  return '\n'.join(lines) + '\n'
