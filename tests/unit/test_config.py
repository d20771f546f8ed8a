"""INI configs with command-line overrides (li_programs/config/config.py)."""
import os
import subprocess
import sys
import textwrap

import pytest

from helpers.paths import REPO_ROOT
from li_programs.config import config as li_config

SAMPLE = """
[data]
dataset = ade20k          ; inline comment
dataset_dir = ../../dataset/ADE20K/tfrecord
snapshot_root = ../../LI-Convs-snapshots/ade20k   # another comment
test_split = val
[model]
model_variant = li_mobilenet_v2
dpn_variant = li_aspp
[lateral_inhibition]
li_zones_dpn = 3,5,7
li_with_batch_norm = False
[train]
atrous_rates = 6,12,18
train_crop_size = 257,257
num_clones = 1
[val]
atrous_rates = 6,12,18
eval_crop_size = 257,257
[test]
atrous_rates = 12,24,36
output_stride = 8
eval_crop_size = 513,513
"""


@pytest.fixture
def sample(tmp_path):
  path = tmp_path / 'my_model.ini'
  path.write_text(SAMPLE)
  return str(path)


def write(tmp_path, text, name='c.ini'):
  path = tmp_path / name
  path.write_text(textwrap.dedent(text))
  return str(path)


def test_mode_section_is_merged_over_common_sections(sample):
  train = li_config.load_config(sample, 'train')
  test = li_config.load_config(sample, 'test')
  assert train.atrous_rates == [6, 12, 18] and train.output_stride == 16
  assert test.atrous_rates == [12, 24, 36] and test.output_stride == 8
  assert test.eval_crop_size == [513, 513]
  assert train.train_crop_size == [257, 257]
  assert train.li_zones_dpn == [3, 5, 7]
  assert train.li_with_batch_norm is False
  assert train.dataset == 'ade20k'
  assert train.config_name == 'my_model'
  # Defaults fill what the file leaves out.
  assert train.optimizer == 'sgd' and train.weight_decay == 0.00004
  assert train.to_dict()['model_variant'] == 'li_mobilenet_v2'


def test_relative_paths_in_file_resolve_against_runners(sample, tmp_path,
                                                         monkeypatch):
  # As the original's, which ran in runners/: ../../ is beside the checkout.
  monkeypatch.chdir(str(tmp_path))
  cfg = li_config.load_config(sample, 'train')
  parent = os.path.dirname(os.path.realpath(REPO_ROOT))
  assert cfg.dataset_dir == os.path.join(parent, 'dataset', 'ADE20K',
                                         'tfrecord')
  assert cfg.snapshot_root == os.path.join(parent, 'LI-Convs-snapshots',
                                           'ade20k')


def test_flags_override_the_file(sample, tmp_path, monkeypatch):
  monkeypatch.chdir(str(tmp_path))
  argv = ['--atrous_rates=1,2', '--output_stride', '8', '--li_with_batch_norm',
          '--config_file', sample, '--noadd_image_level_feature',
          '--dataset_dir=records', '--model_variant', 'mobilenet_v2']
  cfg = li_config.load_config(sample, 'test', argv)
  assert cfg.atrous_rates == [1, 2]
  assert cfg.output_stride == 8
  assert cfg.li_with_batch_norm is True
  assert cfg.add_image_level_feature is False
  assert cfg.model_variant == 'mobilenet_v2'
  assert cfg.dataset_dir == os.path.join(str(tmp_path), 'records')


def test_repeated_list_flags_accumulate(sample):
  cfg = li_config.load_config(sample, 'test', [
      '--atrous_rates=6', '--atrous_rates=12', '--atrous_rates', '18'])
  assert cfg.atrous_rates == [6, 12, 18]


def test_find_config_file_anywhere():
  assert li_config.find_config_file(['--a=1', '--config_file=x.ini']) == 'x.ini'
  assert li_config.find_config_file(
      ['--config_file', 'y.ini', '--b']) == 'y.ini'
  assert li_config.find_config_file(['--b=2']) is None


@pytest.mark.parametrize('text,message', [
    ('[data]\ndataset=ade20k\n[modle]\nmodel_variant=mobilenet_v2\n',
     r"unknown section \[modle\].*did you mean model"),
    ('[model]\nmodel_varient = mobilenet_v2\n',
     r"unknown key 'model_varient' in \[model\] \(did you mean model_variant"),
    ('[model]\natrous_rates = 6,12\n',
     r"'atrous_rates' does not belong in \[model\]; it goes in \[train\]"),
    ('[train]\nnum_clones = two\n',
     r"\[train\] num_clones: num_clones must be an integer, got 'two'"),
    ('[train]\nfine_tune_batch_norm = maybe\n', 'must be true or false'),
    ('[model]\nmodel_variant = resnet_v1_51\n',
     r"model_variant must be one of .* got 'resnet_v1_51' \(did you mean "
     r"resnet_v1_50"),
    ('[lateral_inhibition]\nli_zones_dpn = 3,x,3\n',
     'comma-separated integers'),
])
def test_config_file_errors_name_the_problem(tmp_path, text, message):
  path = write(tmp_path, text)
  with pytest.raises(li_config.ConfigError, match=message) as info:
    li_config.load_config(path, 'train')
  assert path in str(info.value) and '\n' not in str(info.value)


def test_missing_required_key_is_named(tmp_path):
  path = write(tmp_path, """
      [data]
      dataset = ade20k
      dataset_dir = /d
      [model]
      model_variant = mobilenet_v2
      [train]
      """)
  with pytest.raises(li_config.ConfigError,
                     match=r"required option 'snapshot_root' is missing; set "
                           r"it in \[data\] or pass --snapshot_root"):
    li_config.load_config(path, 'train')
  cfg = li_config.load_config(path, 'train', ['--snapshot_root=/s'])
  assert cfg.snapshot_root == '/s'


@pytest.mark.parametrize('argv,message', [
    (['--atrous_rate=6'], r'unknown flag --atrous_rate \(did you mean '
                          r'--atrous_rates'),
    (['--output_stride'], 'flag --output_stride needs a value'),
    (['--output_stride=x'], 'flag --output_stride: output_stride must be an '
                            'integer'),
    (['stray'], "unexpected command-line argument 'stray'"),
])
def test_flag_errors(sample, argv, message):
  with pytest.raises(li_config.ConfigError, match=message):
    li_config.load_config(sample, 'train', argv)


def test_missing_file_and_bad_mode(tmp_path, sample):
  with pytest.raises(li_config.ConfigError, match='config file not found'):
    li_config.load_config(str(tmp_path / 'nope.ini'), 'train')
  with pytest.raises(li_config.ConfigError, match='mode must be one of'):
    li_config.load_config(sample, 'eval')


def test_entry_point_helper_prints_one_line_and_exits_2(tmp_path):
  path = write(tmp_path, '[train]\nnum_clonse = 2\n')
  code = ('from li_programs.config.config import load_config_from_argv; '
          'load_config_from_argv("train", program="train.py")')
  result = subprocess.run(
      [sys.executable, '-c', code, '--config_file', path], cwd=REPO_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1
  assert "unknown key 'num_clonse'" in lines[0]
  assert 'did you mean num_clones' in lines[0]
