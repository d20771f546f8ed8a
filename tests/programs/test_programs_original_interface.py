"""The original's interface (issue 25): its INI files unchanged, its flag
defaults for missing keys, its command lines, and the notes where an INI
value means more here than there."""
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h

from li_programs.config import config as li_config
from li_programs.config import config_schema
from li_programs.config import original_notes
from li_programs.report import result_files
from li_programs.config import runner_checks
from li_programs.train import training_graph

SHIPPED = os.path.join(h.REPO_ROOT, 'config', 'CelebAMask_HQ',
                       'liResnet50_liAspp_dcd.ini')
BESIDE_CHECKOUT = os.path.dirname(os.path.realpath(h.REPO_ROOT))


def _edit(path, old, new):
  text = open(path).read()
  assert old in text
  with open(path, 'w') as f:
    f.write(text.replace(old, new))


def _expected_paths():
  return (os.path.join(BESIDE_CHECKOUT, 'dataset', 'CelebAMask-HQ',
                       'tfrecord'),
          os.path.join(BESIDE_CHECKOUT, 'LI-Convs-snapshots', 'celeba_mask'),
          os.path.join(BESIDE_CHECKOUT, 'LI-Convs-snapshots', 'init_models',
                       'resnet_v1_50_2018_05_04', 'model.ckpt'))


def _paths(cfg):
  return cfg.dataset_dir, cfg.snapshot_root, cfg.tf_initial_checkpoint


@pytest.mark.parametrize('where', ['runners', 'repo', 'elsewhere'])
def test_ini_paths_resolve_against_runners_from_any_folder(
    where, tmp_path, monkeypatch):
  """The shipped configs carry the original's ``../../`` paths; they and an
  original INI copied anywhere resolve beside the checkout, whatever the
  working directory (the original's only worked from runners/)."""
  folder = {'runners': os.path.join(h.REPO_ROOT, 'runners'),
            'repo': h.REPO_ROOT, 'elsewhere': str(tmp_path)}[where]
  monkeypatch.chdir(folder)
  assert _paths(li_config.load_config(SHIPPED, 'train')) == _expected_paths()
  copied = str(tmp_path / 'my_experiment.ini')
  shutil.copy(SHIPPED, copied)
  assert _paths(li_config.load_config(copied, 'train')) == _expected_paths()
  # Flags stay relative to the working directory.
  cfg = li_config.load_config(SHIPPED, 'train', ['--dataset_dir', 'records'])
  assert cfg.dataset_dir == os.path.join(os.getcwd(), 'records')


def test_program_resolves_ini_paths_from_runners(tmp_path):
  """``cd runners && python ../train.py --config_file ../config/...``: the
  original's way; the one-line error names the folder beside the
  checkout."""
  proc = subprocess.run(
      [sys.executable, '../train.py', '--config_file',
       '../config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
       '--dataset_dir=%s' % (tmp_path / 'none'), '--snapshot_root',
       str(tmp_path / 'snap')],
      cwd=os.path.join(h.REPO_ROOT, 'runners'), stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
  assert proc.returncode == 2
  assert str(tmp_path / 'none') in proc.stderr.strip().splitlines()[-1]


def test_missing_keys_take_the_original_flag_defaults(config):
  _edit(config, 'max_to_keep = 20\n', '')
  _edit(config, 'li_location_for_expanded_conv = after_expansion', '')
  # The tiny config now sets none of these keys.
  text = open(config).read()
  for key in ('li_location_for_expanded_conv', 'li_resnet_option',
              'max_to_keep'):
    assert key not in text
  cfg = li_config.load_config(config, 'train', notify=None)
  assert cfg.li_location_for_expanded_conv == 'after_input'
  assert cfg.li_resnet_option == 'a'
  assert cfg.max_to_keep is None  # tf.train.Saver keeps every checkpoint
  defaults = {o.name: o.default for o in config_schema.OPTIONS}
  assert defaults['end_learning_rate'] == 0.0


@pytest.mark.slow
def test_a_missing_max_to_keep_keeps_every_checkpoint(tmp_path):
  _, _, config_file = h.synthetic_setup(str(tmp_path))
  _edit(config_file, 'max_to_keep = 20\n', '')
  cfg = li_config.load_config(config_file, 'train', notify=None)
  with tf.Graph().as_default():
    next_batch, dataset = training_graph.tower_samples(cfg)
    ops = training_graph.build_train_ops(
        cfg, next_batch, dataset.num_of_classes, dataset.ignore_label,
        str(tmp_path / 'train'))
    assert ops.saver.saver_def.max_to_keep == 0  # 0: keep all


def test_training_reads_two_files_at_a_time(tmp_path):
  records, _, config_file = h.synthetic_setup(str(tmp_path))
  cfg = li_config.load_config(config_file, 'train', notify=None)
  assert training_graph.train_dataset(cfg, 1).num_readers == 2


@pytest.mark.slow
def test_readme_boolean_spelling_at_the_command_line(config, tmp_path):
  """The original README's ``--calculate_model_flops_and_params True``."""
  proc = subprocess.run(
      [sys.executable, os.path.join(h.REPO_ROOT, 'test.py'), '--config_file',
       config, '--calculate_model_flops_and_params', 'True',
       '-eval_crop_size', '33,33', '--test_resdir', str(tmp_path / 'res')],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  text = open(str(tmp_path / 'res' / result_files.FLOPS_PARAMS_TXT)).read()
  assert text.startswith('FLOPs: ') and 'params: ' in text


def _notes(config_file, mode='train', argv=()):
  cfg = li_config.load_config(config_file, mode, list(argv), notify=None)
  return original_notes.notes_for(cfg)


def test_ini_keys_the_original_ignored_apply_with_a_note(config):
  assert not any('ignored the INI value' in n for n in _notes(config))
  _edit(config, 'log_steps = 1\n',
        'log_steps = 1\ntop_k_percent_pixels = 0.5\nupsample_logits = '
        'False\nhard_example_mining_step = 0\n')
  _edit(config, 'add_image_level_feature = True\n',
        'add_image_level_feature = True\nmerge_method = avg\n')
  notes = [n for n in _notes(config) if 'ignored the INI value' in n]
  # hard_example_mining_step = 0 is the original's default: no note.
  assert [n.split(' =')[0] for n in notes] == [
      'note: top_k_percent_pixels', 'note: upsample_logits',
      'note: merge_method']
  cfg = li_config.load_config(config, 'train', notify=None)
  assert cfg.top_k_percent_pixels == 0.5 and cfg.upsample_logits is False
  # Given as flags, they are what the original read too: no note.
  flags = ['--top_k_percent_pixels=0.5', '--upsample_logits=false',
           '--merge_method=avg']
  _edit(config, 'top_k_percent_pixels = 0.5\n', '')
  _edit(config, 'upsample_logits = False\n', '')
  _edit(config, 'merge_method = avg\n', '')
  assert not any('ignored the INI value' in n
                 for n in _notes(config, argv=flags))
  # merge_method ([model]) concerns every program.
  _edit(config, 'add_image_level_feature = True\n',
        'add_image_level_feature = True\nmerge_method = avg\n')
  assert any(n.startswith('note: merge_method') for n in _notes(config,
                                                                 'test'))


def test_long_li_lists_are_cut_with_a_note(config):
  _edit(config, 'li_zones_dpn = 3,3,3', 'li_zones_dpn = 3,5,7,9')
  notes = _notes(config, 'test')
  assert ('note: li_zones_dpn has 4 entries for 3 atrous rates; the first 3 '
          'are used (the original also left the rest unused)') in notes


def test_aspp_with_separable_conv_false_warns(config):
  notes = _notes(config, 'test', ['--noaspp_with_separable_conv'])
  assert any(n.startswith('warning: aspp_with_separable_conv = False has '
                          'no effect') for n in notes)


def test_best_on_val_ties_take_the_first_checkpoint(tmp_path):
  train = tmp_path / 'train'
  train.mkdir()
  paths = []
  for step in (1, 2, 3):
    path = str(train / ('model.ckpt-%d' % step))
    open(path + '.index', 'w').close()
    paths.append(path)
  result_files.write_val_results(str(tmp_path / 'val'), paths,
                                 [0.5, 0.5, 0.25])
  best = result_files.best_existing_val_checkpoint(str(tmp_path / 'val'))
  assert best[0] == paths[0]
  assert result_files.best_val_checkpoint(str(tmp_path / 'val')) == paths[0]


def test_runner_clones_follow_the_gpus():
  assert runner_checks.training_clones(0, 16) == 1
  assert runner_checks.training_clones(1, 16) == 1
  assert runner_checks.training_clones(2, 16) == 2
  assert runner_checks.training_clones(3, 16) == 2  # 16 does not split in 3
  assert runner_checks.training_clones(4, 12) == 4


def test_runner_plan_leaves_a_given_num_clones_alone(config, tmp_path):
  lines = runner_checks.plan_training(config, [], num_gpus=2)
  assert 'NUM_CLONES=2' in lines and 'GPUS=2' in lines
  lines = runner_checks.plan_training(config, ['-num_clones', '1'],
                                      num_gpus=2)
  assert not any(line.startswith('NUM_CLONES') for line in lines)


def test_runner_plan_moves_the_initial_checkpoint_with_the_snapshots(
    config, tmp_path):
  _edit(config, '[train]\n', '[train]\ntf_initial_checkpoint = '
        '../../LI-Convs-snapshots/init_models/x/model.ckpt\n')
  snapshots = str(tmp_path / 'snaps')
  moved = os.path.join(snapshots, 'init_models', 'x', 'model.ckpt')
  os.makedirs(os.path.dirname(moved))
  open(moved + '.index', 'w').close()
  lines = runner_checks.plan_training(config, [], snapshots=snapshots,
                                      num_gpus=0)
  assert lines == ['INITIAL_CHECKPOINT=%s' % moved, 'NUM_CLONES=1', 'GPUS=0']
  # One given on the command line stays, and must exist.
  given = str(tmp_path / 'mine' / 'model.ckpt')
  with pytest.raises(runner_checks.RunnerError,
                     match='initial checkpoint %s not found' % given):
    runner_checks.plan_training(
        config, ['--tf_initial_checkpoint', given], snapshots=snapshots,
        num_gpus=0)
