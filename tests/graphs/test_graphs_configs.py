"""The shipped configs carry the published values; graph_manifest's command
line."""
import json
import os
import re

import pytest

from li_programs.config import config as config_lib
from li_programs.config import config_schema

from helpers.paths import REPO_ROOT, SHARED_DIR
ORIGINAL_VALUES = os.path.join(SHARED_DIR, 'reference',
                               'original_config_values.json')
CONFIG_DIR = os.path.join(REPO_ROOT, 'config')
SHIPPED = ('ADE20K/liMnv2_liAspp.ini', 'ADE20K/liResnet50_liAspp_dcd.ini',
           'PASCAL_VOC2012/liMnv2_liAspp.ini',
           'PASCAL_VOC2012/liResnet50_liAspp_dcd.ini',
           'CelebAMask_HQ/liMnv2_liAspp.ini',
           'CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
           'config_example/config_sample.ini')


def _published(name):
  with open(ORIGINAL_VALUES) as f:
    return json.load(f)[name]


@pytest.mark.parametrize('name', SHIPPED)
@pytest.mark.needs_shared
def test_config_holds_published_values(name):
  published = _published(name)
  # Raw (uncommented) values as the config loader reads them.
  ours = config_lib._read_ini(os.path.join(CONFIG_DIR, name))
  assert sorted(ours) == sorted(published)
  for section, entries in published.items():
    assert sorted(ours[section]) == sorted(entries), section
    for key, value in entries.items():
      # Verbatim, paths included (relative to runners/, as the original's).
      assert ours[section][key][0] == value, (section, key)


@pytest.mark.parametrize('name', SHIPPED)
@pytest.mark.parametrize('mode', config_schema.MODES)
def test_config_loads_in_every_mode(name, mode):
  cfg = config_lib.load_config(os.path.join(CONFIG_DIR, name), mode)
  assert cfg.config_name == os.path.basename(name)[:-4]
  assert cfg.dataset_dir.startswith(os.path.dirname(REPO_ROOT) + os.sep)
  assert cfg.atrous_rates == [6, 12, 18]
  assert cfg.output_stride == 16


def test_sample_config_explains_every_option():
  with open(os.path.join(CONFIG_DIR, 'config_example',
                         'config_sample.ini')) as f:
    lines = f.read().splitlines()
  for option in config_schema.OPTIONS:
    documented = [l for l in lines
                  if l.lstrip('; ').startswith(option.name + ' =')]
    assert documented, 'option %s missing from the sample' % option.name
    # Every option line carries an explanation, except values repeated in a
    # later section (explained where they first appear).
    first = documented[0]
    assert ';' in first.lstrip(';'), 'option %s is not explained' % option.name


def test_sample_config_names_only_options():
  # An option shown in the sample but missing from the schema would be
  # refused as an unknown key the moment a user uncomments it.
  with open(os.path.join(CONFIG_DIR, 'config_example',
                         'config_sample.ini')) as f:
    shown = set(re.findall(r'^[;\s]*([a-z][a-z0-9_]*)\s*=', f.read(),
                           re.MULTILINE))
  known = set(option.name for option in config_schema.OPTIONS)
  assert shown and not shown - known, sorted(shown - known)


def _run_tool(tmpdir, flags):
  from tools import graph_manifest
  out = os.path.join(str(tmpdir), 'out', 'manifest.json')
  code = graph_manifest.main(
      ['--config_file', os.path.join(CONFIG_DIR, 'ADE20K/liMnv2_liAspp.ini'),
       '--mode', 'test', '--output', out] + flags)
  return code, out


def test_graph_manifest_cli_applies_list_flags(tmpdir, capsys):
  # A fourth ASPP branch: comma lists and repeated flags both work.
  code, out = _run_tool(tmpdir, [
      '--eval_crop_size=65,65', '--atrous_rates=6,12,18,24',
      '--li_zones_dpn', '3', '--li_zones_dpn', '3', '--li_zones_dpn=3,5',
      '--li_decay_stds_dpn=1,1,1,2', '--li_rates_dpn=1,1,1,2',
      '--noadd_image_level_feature'])
  assert code == 0
  with open(out) as f:
    manifest = json.load(f)
  names = set(v['name'] for v in manifest['variables'])
  assert 'li_aspp/branch_4/lateral_inhibition/li_weights' in names
  assert not any(n.startswith('li_aspp/image_pooling') for n in names)
  assert manifest['crop_size'] == [65, 65]
  assert manifest['logits_shape'] == [1, 65, 65, 151]
  assert manifest['extra_flags'][0] == '--eval_crop_size=65,65'
  assert 'trainable parameters' in capsys.readouterr().out


def test_graph_manifest_cli_reports_bad_lists(tmpdir, capsys):
  code, out = _run_tool(tmpdir, ['--atrous_rates=6,12,18,24'])
  assert code == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1
  assert 'li_zones_dpn' in err and 'atrous rate' in err
  assert not os.path.exists(out)
