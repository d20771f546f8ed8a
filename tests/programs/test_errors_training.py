"""train.py housekeeping: temp files of interrupted checkpoint saves are
removed at start, a folder another live train.py trains into is refused,
random_seed makes runs repeat, progress bars keep log files short."""
import io
import json
import os
import re
import socket
import subprocess
import time

import pytest

from helpers import programs as h
from li_programs.checkpoints import train_checkpoints
from li_programs.config import cli
from libs.core import progress
from li_programs.train import training_marker

pytestmark = pytest.mark.slow

train_prog = h.load_program('train')


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('training_housekeeping'))
  _, _, config = h.synthetic_setup(root)
  return dict(root=root, config=config)


def _train(env, capsys, snap, *flags):
  status = cli.run_program('train.py', train_prog.main, [
      '--config_file', env['config'], '--num_clones=1',
      '--snapshot_root', os.path.join(env['root'], snap),
      '--training_number_of_steps=2', '--log_steps=1'] + list(flags))
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def test_orphaned_checkpoint_temp_files_are_removed_at_start(env, capsys):
  train_dir = os.path.join(env['root'], 'snap_tmp', 'tiny', 'train')
  os.makedirs(train_dir)
  # What `kill -9` during Saver.save leaves: the tensor bundle's
  # *.tempstate<random> files and atomic writes' *.tmp<uuid hex>.
  orphans = ['model.ckpt-2.data-00000-of-00001.tempstate8423459043876530',
             'model.ckpt-2.index.tempstate17',
             'checkpoint.tmp' + 'a3' * 16]
  for name in orphans:
    with open(os.path.join(train_dir, name), 'wb') as f:
      f.write(b'\0' * 1000)
  with open(os.path.join(train_dir, 'notes.tmp.txt'), 'w') as f:
    f.write('mine')
  status, out, _ = _train(env, capsys, 'snap_tmp')
  assert status == 0
  assert ('Removed 3 temp file(s) (0.0 MB) left in %s by an interrupted '
          'checkpoint save' % train_dir) in out
  left = os.listdir(train_dir)
  assert not set(orphans) & set(left)
  assert 'notes.tmp.txt' in left
  assert training_marker.MARKER not in left  # removed at exit


def _fake_marker(train_dir, pid):
  os.makedirs(train_dir, exist_ok=True)
  with open(os.path.join(train_dir, training_marker.MARKER), 'w') as f:
    json.dump({'pid': pid, 'host': socket.gethostname(),
               'started': time.time(),
               'process_start': training_marker._process_start_time(pid)}, f)


def test_a_folder_another_live_trainer_holds_is_refused(env, capsys):
  train_dir = os.path.join(env['root'], 'snap_busy', 'tiny', 'train')
  other = subprocess.Popen(['sleep', '300'])
  try:
    _fake_marker(train_dir, other.pid)
    status, _, err = _train(env, capsys, 'snap_busy')
    assert status == 2
    assert err.strip().splitlines()[-1].startswith(
        'train.py: error: another train.py (pid %d on %s, started '
        % (other.pid, socket.gethostname()))
    assert 'is training into %s; wait for it' % train_dir in err
    assert not train_checkpoints.list_checkpoints(train_dir)
  finally:
    other.kill()
    other.wait()
  # Its process is gone: the marker is stale and training goes ahead.
  status, out, _ = _train(env, capsys, 'snap_busy')
  assert status == 0, out
  assert train_checkpoints.list_checkpoints(train_dir)
  assert training_marker.read_marker(train_dir) is None


def test_marker_of_a_reused_pid_is_stale(tmp_path):
  _fake_marker(str(tmp_path), os.getpid())
  marker = training_marker.read_marker(str(tmp_path))
  assert training_marker.is_live(marker)
  marker['process_start'] = 'another start time'
  assert not training_marker.is_live(marker)
  marker['host'] = 'elsewhere.example'
  assert training_marker.is_live(marker)  # cannot be checked: assume live


def _losses(out):
  return re.findall(r'step \d+: loss = (\S+)', out)


def test_random_seed_repeats_a_run(env, capsys):
  runs = []
  for name, seed in (('seed_a', 5), ('seed_b', 5), ('seed_c', 6)):
    status, out, _ = _train(env, capsys, name, '--random_seed=%d' % seed,
                            '--training_number_of_steps=3')
    assert status == 0
    runs.append(_losses(out))
  assert len(runs[0]) == 3
  assert runs[0] == runs[1]
  assert runs[0] != runs[2]


def test_progress_to_a_log_file_is_a_few_lines_per_bar():
  now = [0.0]

  def clock():
    return now[0]

  # A quick bar (a few seconds): its final line only.
  out = io.StringIO()
  bar = progress.ProgressBar(4, 'val', stream=out, clock=clock)
  for _ in range(4):
    now[0] += 0.5
    bar.update()
  bar.close()
  assert out.getvalue().splitlines() == [
      'val [##############################] 4/4 (100%) 2.0 it/s']
  # A long bar: a line per 10% at most, however many updates.
  out = io.StringIO()
  bar = progress.ProgressBar(5000, 'train', stream=out, clock=clock)
  for _ in range(5000):
    now[0] += 0.1
    bar.update()
  bar.close()
  lines = out.getvalue().splitlines()
  assert 9 <= len(lines) <= 11  # the first after 10 s, then per 10%
  percents = [int(re.search(r'\((\s*\d+)%\)', l).group(1)) for l in lines]
  assert percents == sorted(set(percents)) and percents[-1] == 100
