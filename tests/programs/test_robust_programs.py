"""Issue 26 through the programs: a moved or copied run folder resumes and
validates where it is, max_to_keep 0 keeps every checkpoint scoreable,
resuming refuses another architecture, validate.py continues after SIGTERM,
--checkpoint_path forms, a file as snapshot_root, --finetune_li_weight_only
without a start, and no TensorFlow start-up noise."""
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from helpers import programs as h
from li_programs.config import cli
from li_programs.report import result_files
from li_programs.runtime import run_record
from li_programs.checkpoints import train_checkpoints

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')


def _run(module, prog, argv, capsys):
  """(status, stdout, error lines of stderr)."""
  status = cli.run_program(prog, module.main, argv)
  captured = capsys.readouterr()
  return status, captured.out, [line for line in captured.err.splitlines()
                                if ': error: ' in line]


def _train(env, snap, capsys, *flags):
  return _run(train_prog, 'train.py', [
      '--config_file', env['config'], '--snapshot_root', snap,
      '--num_clones=1', '--save_checkpoint_steps=1'] + list(flags), capsys)


def _absolute_state(train_dir):
  """Rewrites the checkpoint state with absolute paths, as TensorFlow's
  Saver writes it by default (and this project's trainer did)."""
  paths = train_checkpoints.list_checkpoints(train_dir)
  with open(os.path.join(train_dir, 'checkpoint'), 'w') as f:
    f.write('model_checkpoint_path: "%s"\n' % paths[-1])
    for path in paths:
      f.write('all_model_checkpoint_paths: "%s"\n' % path)


def _files(folder):
  """The contents of the folder's files but the run records (run.json and
  its history), which every program start writes."""
  return {name: open(os.path.join(folder, name), 'rb').read()
          for name in os.listdir(folder)
          if os.path.isfile(os.path.join(folder, name)) and
          name not in (run_record.RUN_JSON, run_record.RUN_HISTORY)}


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  """The tiny set and a run trained 2 steps under max_to_keep 0 (so the
  state lists only model.ckpt-2 of model.ckpt-0, -1, -2)."""
  root = str(tmp_path_factory.mktemp('robust'))
  records, _, config = h.synthetic_setup(root)
  env = dict(root=root, records=records, config=config)
  run = os.path.join(root, 'run')
  status = cli.run_program('train.py', train_prog.main, [
      '--config_file', config, '--snapshot_root', run, '--num_clones=1',
      '--save_checkpoint_steps=1', '--training_number_of_steps=2',
      '--max_to_keep=0'])
  assert status == 0
  _absolute_state(os.path.join(run, 'tiny', 'train'))
  env['run'] = run
  return env


def _copy_run(env, name):
  target = os.path.join(env['root'], name)
  shutil.copytree(env['run'], target)
  return target, os.path.join(target, 'tiny', 'train')


def test_moved_run_folder_resumes_where_it_is(env, capsys):
  snap, _ = _copy_run(env, 'before_move')
  moved = os.path.join(env['root'], 'moved')
  os.rename(snap, moved)
  train_dir = os.path.join(moved, 'tiny', 'train')
  kept = _files(train_dir)
  status, out, err = _train(env, moved, capsys,
                            '--training_number_of_steps=3')
  assert status == 0 and not err, err
  assert 'Resuming from %s/model.ckpt-2' % train_dir in out
  assert 'step 1:' not in out and 'step 3:' in out
  for name in kept:  # nothing overwritten
    if name.startswith('model.ckpt-'):
      assert _files(train_dir)[name] == kept[name], name
  assert train_checkpoints.checkpoint_exists(
      os.path.join(train_dir, 'model.ckpt-3'))
  # The state now names files, so it stays valid wherever the folder goes.
  assert moved not in open(os.path.join(train_dir, 'checkpoint')).read()


def test_validate_on_a_copy_scores_every_checkpoint_and_leaves_the_original(
    env, capsys):
  original = os.path.join(env['run'], 'tiny', 'train')
  before = _files(original)
  snap, train_dir = _copy_run(env, 'copy')
  status, out, err = _run(validate_prog, 'validate.py', [
      '--config_file', env['config'], '--snapshot_root', snap], capsys)
  assert status == 0 and not err, err
  # max_to_keep 0: TensorFlow lists model.ckpt-2 only; all three count.
  paths, _ = result_files.read_val_results(os.path.join(snap, 'tiny', 'val'))
  assert paths == [os.path.join(train_dir, 'model.ckpt-%d' % s)
                   for s in (0, 1, 2)]
  assert _files(original) == before
  assert 'deleted ' in out  # pruned the copy, not the original
  assert len([f for f in os.listdir(train_dir) if f.endswith('.index')]) < 3


@pytest.mark.parametrize('flags', [
    ['--model_variant=mobilenet_v2'],
    ['--li_backbone_option_mnv2=d'],
], ids=['backbone_without_li', 'fewer_li_blocks'])
def test_resuming_with_another_architecture_is_refused(env, capsys, flags):
  # The run was trained with li_backbone_option_mnv2 e (blocks 12 and 15);
  # both models lack some of its variables and need none it lacks.
  snap, train_dir = _copy_run(env, 'arch_' + flags[0][2:8])
  before = _files(train_dir)
  status, _, err = _train(env, snap, capsys, '--training_number_of_steps=3',
                          *flags)
  assert status == 2 and len(err) == 1, err
  assert re.match(
      r'train\.py: error: checkpoint %s/model\.ckpt-2 does not fit the model '
      r'of %s: \d+ in it are unknown to the model \(.*lateral_inhibition.*\).*'
      r'; resume with the options it was trained with, or train into another '
      r'folder' % (re.escape(train_dir), re.escape(env['config'])), err[0]), (
          err[0])
  assert _files(train_dir) == before


def test_validate_says_what_it_kept_on_sigterm_and_continues(env):
  snap, _ = _copy_run(env, 'sigterm')
  args = [os.path.join(h.REPO_ROOT, 'validate.py'), '--config_file',
          env['config'], '--snapshot_root', snap, '--keep_all_checkpoints']
  status, out = h.sigterm_when(
      args, lambda line: ' mIoU: ' in line and line.startswith(snap))
  assert status == 128 + signal.SIGTERM, out
  scored = re.findall(r'^%s/tiny/train/(model\.ckpt-\d+) mIoU' % re.escape(
      snap), out, re.M)
  assert 1 <= len(scored) < 3, out
  message = re.search(r'^validate\.py: stopped by signal 15; (\d+) '
                      r'checkpoint\(s\) scored by this run and 0 earlier are '
                      r'kept in (\S+); run validate\.py again to score the '
                      r'other (\d+)$', out, re.M)
  assert message, out
  assert int(message.group(1)) == len(scored)
  assert int(message.group(3)) == 3 - len(scored)
  # The rerun scores only the others.
  result = subprocess.run([sys.executable] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=240)
  assert result.returncode == 0, result.stdout
  rescored = re.findall(r'^%s/tiny/train/(model\.ckpt-\d+) mIoU' % re.escape(
      snap), result.stdout, re.M)
  assert sorted(rescored + scored) == ['model.ckpt-%d' % s for s in (0, 1, 2)]
  assert ('%d of 3 checkpoint(s) were scored with these settings by an '
          'earlier run' % len(scored)) in result.stdout
  paths, _ = result_files.read_val_results(os.path.join(snap, 'tiny', 'val'))
  assert len(paths) == 3


@pytest.mark.parametrize('form', ['folder', 'index', 'data'])
def test_checkpoint_path_takes_a_folder_or_a_file_and_says_which(
    env, capsys, form):
  train_dir = os.path.join(env['run'], 'tiny', 'train')
  given = {'folder': train_dir,
           'index': os.path.join(train_dir, 'model.ckpt-1.index'),
           'data': os.path.join(train_dir,
                                'model.ckpt-1.data-00000-of-00001')}[form]
  used = os.path.join(train_dir, 'model.ckpt-%d' % (2 if form == 'folder'
                                                     else 1))
  status, out, err = _run(test_prog, 'test.py', [
      '--config_file', env['config'], '--snapshot_root',
      os.path.join(env['root'], 'forms_' + form), '--checkpoint_path', given],
                          capsys)
  assert status == 0 and not err, err
  assert 'note: checkpoint_path %s: using %s, the ' % (given, used) in out
  assert re.search(r'^%s: mIoU: ' % re.escape(used), out, re.M)


def test_a_file_as_snapshot_root_is_named(env, capsys, tmp_path):
  not_a_folder = tmp_path / 'snapshots'
  not_a_folder.write_text('a file')
  for module, prog in ((validate_prog, 'validate.py'),
                       (test_prog, 'test.py'), (train_prog, 'train.py')):
    status, _, err = _run(module, prog, [
        '--config_file', env['config'], '--snapshot_root',
        str(not_a_folder)], capsys)
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith('%s: error: %s is a file, not a folder, so the '
                             'train folder %s/tiny/train cannot be used'
                             % (prog, not_a_folder, not_a_folder)), err[0]


def test_finetune_li_weight_only_without_a_start_is_refused(env, capsys,
                                                           tmp_path):
  status, out, err = _train(env, str(tmp_path / 'snap'), capsys,
                            '--finetune_li_weight_only')
  assert status == 2 and len(err) == 1, err
  assert err[0] == (
      'train.py: error: finetune_li_weight_only trains only the LI weights, '
      'but there is no tf_initial_checkpoint and no checkpoint in %s to '
      'resume: the rest of the network would stay random; set '
      'tf_initial_checkpoint (e.g. a published LI-Convs snapshot) or drop '
      'finetune_li_weight_only' % (tmp_path / 'snap' / 'tiny' / 'train'))
  assert 'step 1' not in out
  # With a checkpoint to resume there is a start: nothing refused.
  snap, _ = _copy_run(env, 'finetune')
  status, out, err = _train(env, snap, capsys, '--finetune_li_weight_only',
                            '--training_number_of_steps=3')
  assert status == 0 and not err, err


_NOISE = re.compile(r'absl::InitializeLog|^I\d{4} |^\d{4}-\d\d-\d\d .*: I |'
                    r'cpu_feature_guard|cuInit|is deprecated|Ignored output_'
                    r'format|XNNPACK delegate')


def test_programs_print_no_tensorflow_start_up_noise(env):
  checkpoint = os.path.join(env['run'], 'tiny', 'train', 'model.ckpt-2')
  # On TensorFlow 2.x without a GPU the model runs converted to
  # TensorFlow Lite, whose conversion is filtered too.
  cmd = [sys.executable, os.path.join(h.REPO_ROOT, 'test.py'),
         '--config_file', env['config'],
         '--snapshot_root', os.path.join(env['root'], 'quiet'),
         '--checkpoint_path', checkpoint]
  base = {k: v for k, v in os.environ.items()
          if k not in ('TF_CPP_MIN_LOG_LEVEL', 'LI_CONVS_DEBUG')}
  quiet = subprocess.run(cmd, env=base, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True,
                         timeout=300)
  assert quiet.returncode == 0, quiet.stderr
  noise = [l for l in quiet.stderr.splitlines() if _NOISE.search(l)]
  assert not noise, noise
  loud = subprocess.run(cmd, env=dict(base, LI_CONVS_DEBUG='1'),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=300)
  assert loud.returncode == 0, loud.stderr
  assert [l for l in loud.stderr.splitlines() if _NOISE.search(l)]
