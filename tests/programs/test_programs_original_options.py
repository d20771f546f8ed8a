"""Options the original LI-Convs accepts keep their meaning; where its
behaviour was a silent surprise, one line says how it differs."""
import io
import os

import pytest

from helpers import programs as h
from li_programs.config import config as config_lib
from li_models import model_config
from li_programs.config import original_notes
from li_programs.runtime import run_folders
from li_programs.runtime import session_config

ADE_MNV2 = os.path.join(h.REPO_ROOT, 'config', 'ADE20K', 'liMnv2_liAspp.ini')


def _config(tmp_path, mode='train', argv=(), text=h.TINY_CONFIG):
  path = h.write_config(str(tmp_path / 'cfg' / 'tiny.ini'),
                        str(tmp_path / 'data'), str(tmp_path / 'snap'), text)
  return config_lib.load_config(path, mode, list(argv))


def _notes(cfg):
  stream = io.StringIO()
  original_notes.print_notes('prog.py', cfg, stream)
  return stream.getvalue().splitlines()


def _init_ranges(cfg):
  options = model_config.model_options_from_config(cfg, 5, None)
  return (tuple(options.li_weight_initilizer_min_max_dpn),
          tuple(options.li_weight_initilizer_min_max_backbone))


def test_li_weight_initilizer_min_max_is_the_fallback_range(tmp_path):
  text = h.TINY_CONFIG.replace(
      'li_weight_initilizer_min_max_dpn = 0.0,0.15',
      'li_weight_initilizer_min_max = 0.05,0.1')
  cfg = _config(tmp_path, text=text)
  assert _init_ranges(cfg) == ((0.05, 0.1), (0.05, 0.1))
  assert _notes(cfg) == []
  # One part given: it is used, the fallback covers the other part, and a
  # note says the original would have used the fallback for both.
  cfg = _config(tmp_path, argv=['--li_weight_initilizer_min_max_dpn=0,0.3'],
                text=text)
  assert _init_ranges(cfg) == ((0.0, 0.3), (0.05, 0.1))
  notes = _notes(cfg)
  assert len(notes) == 1 and notes[0].startswith(
      'prog.py: note: li_weight_initilizer_min_max_dpn is used')
  # Neither given: the original's flag default 0, 0.
  cfg = _config(tmp_path, text=h.TINY_CONFIG.replace(
      'li_weight_initilizer_min_max_dpn = 0.0,0.15', ''))
  assert _init_ranges(cfg) == ((0.0, 0.0), (0.0, 0.0))


def test_shipped_configs_print_no_note():
  for mode in ('train', 'val', 'test'):
    assert _notes(config_lib.load_config(ADE_MNV2, mode)) == []


@pytest.mark.parametrize('mode, argv, start', [
    ('train', ['--li_activation=none'],
     'note: li_activation = none: the LI layers have no activation here; '
     'the original applied relu6'),
    ('train', ['--freeze_backbone_network', '--finetune_li_weight_only'],
     'note: freeze_backbone_network and finetune_li_weight_only together '
     'train the LI variables outside the backbone; the original ignored '
     'finetune_li_weight_only'),
    ('train', ['--profile_logdir=/tmp/prof'],
     'warning: profile_logdir has no effect here'),
    ('test', ['--add_flipped_images'],
     'note: add_flipped_images at eval_scales 1.0: the flipped image is '
     'averaged in here; the original ignored'),
    ('val', ['--eval_batch_size=4'],
     'warning: eval_batch_size has no effect here'),
])
def test_one_line_per_surprise(mode, argv, start):
  notes = _notes(config_lib.load_config(ADE_MNV2, mode, argv))
  assert len(notes) == 1, notes
  assert notes[0].startswith('prog.py: ' + start), notes[0]


def test_flipped_images_at_several_scales_is_no_surprise():
  cfg = config_lib.load_config(ADE_MNV2, 'test', [
      '--add_flipped_images', '--eval_scales=0.75,1.0'])
  assert _notes(cfg) == []


def test_original_flags_are_accepted(tmp_path):
  for mode, argv in (
      ('train', ['--allow_growth=false', '--train_logdir', 'tl',
                 '--save_interval_secs=600', '--save_summaries_secs=60',
                 '--display_warning', '--profile_logdir', 'p',
                 '--end_learning_rate=0.0']),
      ('val', ['--eval_batch_size=1', '--checkpoint_dir', 'c',
               '--val_logdir', 'v']),
      ('test', ['--eval_batch_size=1', '--checkpoint_dir', 'c',
                '--val_logdir', 'v', '--test_logdir', 't',
                '--test_resdir', 'r', '--eval_scales_replace=0.5,1.0'])):
    cfg = config_lib.load_config(ADE_MNV2, mode, argv)
    assert cfg.mode == mode
  assert cfg.test_resdir == os.path.abspath('r')


def test_folder_flags_move_the_folders(tmp_path):
  default = _config(tmp_path, 'train')
  dirs = run_folders.program_dirs(default)
  root = str(tmp_path / 'snap' / 'tiny')
  assert dirs == (root, root + '/train', root + '/val', root + '/test')
  moved = run_folders.program_dirs(_config(
      tmp_path, 'train', ['--train_logdir', str(tmp_path / 'tl')]))
  assert moved.train == str(tmp_path / 'tl')
  test_dirs = run_folders.program_dirs(_config(
      tmp_path, 'test', ['--checkpoint_dir', str(tmp_path / 'c'),
                         '--val_logdir', str(tmp_path / 'v'),
                         '--test_logdir', str(tmp_path / 't')]))
  assert test_dirs == (root, str(tmp_path / 'c'), str(tmp_path / 'v'),
                       str(tmp_path / 't'))


def test_allow_growth(tmp_path):
  assert session_config.session_config_from(
      _config(tmp_path)).gpu_options.allow_growth
  assert not session_config.session_config_from(_config(
      tmp_path, argv=['--noallow_growth'])).gpu_options.allow_growth
