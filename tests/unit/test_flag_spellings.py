"""The original's absl command-line spellings
(li_programs/config/flag_parsing.py)."""
import os

import pytest

from helpers.paths import REPO_ROOT
from li_programs.config import cli
from li_programs.config import config as li_config
from li_programs.config import flag_parsing

CONFIG = os.path.join(REPO_ROOT, 'config', 'CelebAMask_HQ',
                      'liMnv2_liAspp.ini')


def _load(argv, mode='train'):
  return li_config.load_config(CONFIG, mode, argv, notify=None)


@pytest.mark.parametrize('argv', [
    ['--train_batch_size=12'],
    ['--train_batch_size', '12'],      # the original's README
    ['-train_batch_size=12'],
    ['-train_batch_size', '12'],
])
def test_value_flag_spellings(argv):
  assert _load(argv).train_batch_size == 12


# finetune_li_weight_only is False in the config, add_image_level_feature
# True: each spelling must change the value.
@pytest.mark.parametrize('argv, expected', [
    (['--finetune_li_weight_only'], True),
    (['-finetune_li_weight_only'], True),
    (['--finetune_li_weight_only', 'True'], True),   # the original's README
    (['--finetune_li_weight_only', 'true'], True),
    (['--finetune_li_weight_only', '1'], True),
    (['--finetune_li_weight_only=True'], True),
    (['--finetune_li_weight_only=true'], True),
    (['--finetune_li_weight_only=1'], True),
    (['-finetune_li_weight_only=True'], True),
    (['-finetune_li_weight_only', 'True'], True),
    (['--finetune_li_weight_only', 'T'], True),
    (['--finetune_li_weight_only=t'], True),
])
def test_boolean_spellings_that_set_true(argv, expected):
  assert _load(argv).finetune_li_weight_only is expected


@pytest.mark.parametrize('argv', [
    ['--noadd_image_level_feature'],
    ['-noadd_image_level_feature'],
    ['--add_image_level_feature', 'False'],
    ['--add_image_level_feature', 'false'],
    ['--add_image_level_feature', '0'],
    ['--add_image_level_feature=False'],
    ['--add_image_level_feature=false'],
    ['--add_image_level_feature=0'],
    ['-add_image_level_feature=False'],
    ['-add_image_level_feature', 'false'],
    ['--add_image_level_feature', 'F'],
])
def test_boolean_spellings_that_set_false(argv):
  assert _load(argv).add_image_level_feature is False


def test_boolean_word_is_only_taken_after_a_boolean_flag():
  # The word after a value-less boolean is a flag of its own here.
  cfg = _load(['--finetune_li_weight_only', '--train_batch_size', '4'])
  assert cfg.finetune_li_weight_only is True and cfg.train_batch_size == 4
  with pytest.raises(li_config.ConfigError,
                     match=r"unexpected command-line argument 'yes' \(after "
                           r"--finetune_li_weight_only, which takes no "
                           r"value\)"):
    _load(['--finetune_li_weight_only', 'yes'])
  with pytest.raises(li_config.ConfigError, match='after --noadd_image_level'):
    _load(['--noadd_image_level_feature', 'False'])


def test_negative_numbers_are_values_not_flags():
  for flag in ('--li_weight_clip_values', '-li_weight_clip_values'):
    assert _load([flag, '-0.5,1']).li_weight_clip_values == [-0.5, 1.0]
  for flag in ('--random_seed', '-random_seed'):
    assert _load([flag, '-3']).random_seed == -3
  # Read as the value, then refused by the option's bound.
  with pytest.raises(li_config.ConfigError,
                     match='base_learning_rate must be positive'):
    _load(['--base_learning_rate', '-0.5'])


@pytest.mark.parametrize('argv, message', [
    (['--trian_batch_size=4'],
     r'unknown flag --trian_batch_size \(did you mean --train_batch_size'),
    (['-trian_batch_size', '4'],
     r'unknown flag -trian_batch_size \(did you mean --train_batch_size'),
    (['--finetune_li_weigth_only', 'True'],
     r'did you mean --finetune_li_weight_only'),
    (['--nofinetune_li_weigth_only'],
     r'unknown flag --nofinetune_li_weigth_only'),
    (['--nofinetune_li_weight_only=true'],
     r'--nofinetune_li_weight_only takes no value; write '
     r'--finetune_li_weight_only=false'),
    (['--train_batch_size'], r'flag --train_batch_size needs a value'),
    (['--train_batch_size', '--num_clones=1'],
     r'flag --train_batch_size needs a value'),
    (['stray'], r"unexpected command-line argument 'stray'"),
])
def test_bad_flags_name_the_culprit(argv, message):
  with pytest.raises(li_config.ConfigError, match=message):
    _load(argv)


@pytest.mark.parametrize('argv', [
    ['--config_file', 'x.ini'], ['--config_file=x.ini'],
    ['-config_file', 'x.ini'], ['-config_file=x.ini'],
])
def test_config_file_spellings(argv):
  config_file, rest = flag_parsing.split_config_file(argv + ['--b=1'])
  assert config_file == 'x.ini' and rest == ['--b=1']


def test_config_file_without_a_value():
  for argv in (['--config_file'], ['--config_file', '--b=1']):
    with pytest.raises(li_config.ConfigError,
                       match=r'flag --config_file needs a value'):
      flag_parsing.split_config_file(argv)


@pytest.mark.parametrize('argv', [
    ['--images', 'a/*.png', '--output_dir', 'out'],
    ['--images=a/*.png', '--output_dir=out'],
    ['-images', 'a/*.png', '-output_dir', 'out'],
    ['-images=a/*.png', '-output_dir=out'],
])
def test_program_flags_take_every_spelling(argv):
  # predict.py's and tools/export_model.py's own flags are spelt as the
  # config options are; the rest stays for the config, in order.
  own, rest = flag_parsing.take_flags(
      ['--eval_scales=1.0'] + argv + ['-v', '1'], ('images', 'output_dir'))
  assert own == {'images': 'a/*.png', 'output_dir': 'out'}
  assert rest == ['--eval_scales=1.0', '-v', '1']


@pytest.mark.parametrize('argv', [['-images'], ['--images', '-output_dir=x']])
def test_program_flag_without_a_value(argv):
  with pytest.raises(flag_parsing.FlagValueMissing) as missing:
    flag_parsing.take_flags(argv, ('images', 'output_dir'))
  assert missing.value.name == 'images' and missing.value.flag == argv[0]


@pytest.mark.parametrize('flag', ['-h', '--help', '-help', '--helpfull'])
def test_help_spellings(flag):
  with pytest.raises(cli.HelpRequested) as request:
    cli.load_program_config('test', [flag])
  assert '--calculate_model_flops_and_params' in request.value.text


def test_flag_parsing_is_ordered_and_repeatable():
  parsed = flag_parsing.parse_flags(
      ['-atrous_rates=6', '--config_file', 'c.ini', '--atrous_rates', '12',
       '--noxla'])
  assert [(o.name, v) for o, v in parsed] == [
      ('atrous_rates', '6'), ('atrous_rates', '12'), ('xla', 'false')]
