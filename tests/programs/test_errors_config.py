"""Config and command-line failures end in one line naming the file, the line
or the flag; --help lists every option from the option table."""
import os
import re
import subprocess
import sys

import pytest

from helpers import programs as h

from li_programs.config import config as li_config
from li_programs.config import config_help
from li_programs.config import config_schema as schema
from li_programs.config import cli

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')
PROGRAMS = {'train': train_prog, 'val': validate_prog, 'test': test_prog}


def _run(mode, argv, capsys):
  status = cli.run_program(schema.PROGRAMS[mode], PROGRAMS[mode].main,
                                  argv)
  captured = capsys.readouterr()
  return status, captured.out, captured.err.strip().splitlines()


def _write(path, text):
  with open(path, 'w') as f:
    f.write(text)
  return path


@pytest.mark.parametrize('mode', ['train', 'val', 'test'])
def test_help_lists_every_option_of_the_program_without_a_config(
    mode, capsys):
  status, out, err = _run(mode, ['--help'], capsys)
  assert status == 0 and not err
  assert out.startswith('usage: %s --config_file' % schema.PROGRAMS[mode])
  sections = schema.COMMON_SECTIONS + (mode,)
  for section in sections:
    assert '\n[%s]\n' % section in out
  for option in schema.OPTIONS:
    shown = '  --%s ' % option.name
    if set(option.sections) & set(sections):
      line = next(l for l in out.splitlines() if l.startswith(shown))
      default = config_help._default_text(option)
      assert '(required)' in line if default == 'required' else \
          '(default: %s)' % default in line
      assert config_help._TYPE_NAMES[option.type] in line
      # the one-line meaning follows on the next line(s)
      assert option.help.split()[0] in out.split(line, 1)[1][:200]
    else:
      assert shown not in out


def test_help_groups_options_by_section_in_table_order(capsys):
  _, out, _ = _run('train', ['-h', '--config_file', 'whatever.ini'], capsys)
  train_part = out.split('\n[train]\n', 1)[1]
  names = re.findall(r'^  --(\w+) ', train_part, re.M)
  assert names == [o.name for o in schema.OPTIONS if 'train' in o.sections]
  assert 'random_seed' in names


def test_help_runs_as_a_command_without_a_config(tmp_path):
  proc = subprocess.run(
      [sys.executable, os.path.join(h.REPO_ROOT, 'test.py'), '--help'],
      cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert '--checkpoint_path PATH (default: None)' in proc.stdout
  assert 'LI_CONVS_DEBUG=1' in proc.stdout


@pytest.mark.parametrize('flag', ['--config-file', '--configfile',
                                  '--config'])
def test_misspelt_config_file_flag_suggests_the_right_one(flag, config,
                                                         capsys):
  status, _, err = _run('train', [flag, config], capsys)
  assert status == 2 and len(err) == 1
  assert err[0] == ('train.py: error: unknown flag %s (did you mean '
                    '--config_file?)' % flag)
  status, _, err = _run('val', ['%s=%s' % (flag, config)], capsys)
  assert 'did you mean --config_file?' in err[0]


def test_dashed_flag_suggests_its_underscored_name(config, capsys):
  status, _, err = _run('train', ['--config_file', config,
                                  '--train-batch-size=4'], capsys)
  assert status == 2
  assert err == ['train.py: error: unknown flag --train-batch-size (did you '
                 'mean --train_batch_size?)']


def test_ini_syntax_error_names_the_line(config, capsys):
  text = open(config).read().replace('[model]\n', '[model]\nthis is no key\n')
  _write(config, text)
  line = text.splitlines().index('this is no key') + 1
  status, _, err = _run('test', ['--config_file', config], capsys)
  assert status == 2 and len(err) == 1
  assert err[0] == ("test.py: error: %s line %d: cannot parse 'this is no "
                    "key'; write key = value or [section]" % (config, line))


def test_key_before_any_section_names_the_line(tmp_path, capsys):
  path = _write(str(tmp_path / 'c.ini'), '\n# settings\ndataset = ade20k\n')
  status, _, err = _run('train', ['--config_file', path], capsys)
  assert status == 2
  assert err[0].startswith('train.py: error: %s line 3: ' % path)
  assert 'before any [section] header' in err[0]


def test_duplicate_key_names_the_line(config, capsys):
  text = open(config).read().replace('[val]\n',
                                     '[val]\neval_crop_size = 33,33\n')
  _write(config, text)
  status, _, err = _run('val', ['--config_file', config], capsys)
  assert status == 2
  assert re.match(r"validate.py: error: .*tiny.ini line \d+: key "
                  r"'eval_crop_size' appears twice in \[val\]$", err[0])


@pytest.mark.parametrize('content', [
    b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR', b'\xff\xfe[\x00d\x00',
    b'[data]\ndataset = \xe9t\xe9\n'])
def test_binary_file_as_config_names_the_file(tmp_path, content, capsys):
  path = str(tmp_path / 'figure.png')
  with open(path, 'wb') as f:
    f.write(content)
  status, _, err = _run('train', ['--config_file', path], capsys)
  assert status == 2 and len(err) == 1
  assert err[0].startswith('train.py: error: %s ' % path)
  assert 'binary data' in err[0] or 'not UTF-8 text' in err[0]


def _drop_section(path, section):
  lines, out, skipping = open(path).read().splitlines(), [], False
  for line in lines:
    if line.startswith('['):
      skipping = line.strip() == '[%s]' % section
    if not skipping:
      out.append(line)
  return _write(path, '\n'.join(out) + '\n')


@pytest.mark.parametrize('section,mode', [
    ('lateral_inhibition', 'train'), ('model', 'test'), ('data', 'val'),
    ('train', 'train'), ('val', 'val'), ('test', 'test')])
def test_missing_required_section_is_an_error(config, section, mode, capsys):
  _drop_section(config, section)
  argv = ['--config_file', config]
  if section == 'data':  # the required keys then come from flags
    argv += ['--dataset=synthetic_shapes', '--dataset_dir=/d',
             '--snapshot_root=/s']
  if section == 'model':
    argv += ['--model_variant=li_mobilenet_v2']
  status, _, err = _run(mode, argv, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('%s: error: %s has no [%s] section and '
                           % (schema.PROGRAMS[mode], config, section))
  assert 'add the section' in err[0]


def test_sections_of_other_programs_may_be_missing(config):
  _drop_section(config, 'train')
  _drop_section(config, 'test')
  cfg = li_config.load_config(config, 'val', notify=None)
  assert cfg.eval_crop_size == [65, 65]


def test_missing_optional_section_prints_the_defaults_it_falls_back_to(
    config):
  text = open(config).read().replace('li_mobilenet_v2', 'mobilenet_v2')
  _write(config, text.replace('li_aspp', 'aspp'))
  _drop_section(config, 'lateral_inhibition')
  notes = []
  cfg = li_config.load_config(config, 'train', notify=notes.append)
  assert cfg.li_zones_dpn == [3, 3, 3]
  assert len(notes) == 1
  assert notes[0].startswith('%s has no [lateral_inhibition] section; the '
                             'model has no LI layers, so the defaults stand: '
                             % config)
  assert 'li_zones_dpn=3,3,3' in notes[0]
  assert 'li_backbone_option_mnv2=e' in notes[0]


def test_debug_switch_shows_the_full_traceback(tmp_path):
  path = str(tmp_path / 'figure.png')
  with open(path, 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n\x00\x00')
  command = [sys.executable, os.path.join(h.REPO_ROOT, 'test.py'),
             '--config_file', path]
  quiet = subprocess.run(command, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=120)
  assert quiet.returncode == 2 and 'Traceback' not in quiet.stderr
  loud = subprocess.run(command, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=120, env=dict(os.environ, LI_CONVS_DEBUG='1'))
  assert loud.returncode != 0
  assert 'Traceback (most recent call last)' in loud.stderr
  assert 'ConfigError: %s is not a text INI file' % path in loud.stderr
