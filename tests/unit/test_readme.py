"""The README's Python examples run verbatim from the repository root."""
import os
import re
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT


def _python_blocks():
  with open(os.path.join(REPO_ROOT, 'README.md')) as f:
    return re.findall(r'```python\n(.*?)```', f.read(), re.S)


def test_li_layer_toy_example_runs_verbatim():
  blocks = [b for b in _python_blocks() if 'lateral_inhibition_layer' in b]
  assert blocks, 'README lost its LI layer example'
  result = subprocess.run([sys.executable, '-c', blocks[0]], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert '(2, 33, 33, 64)' in result.stdout


def _bash_lines():
  """``(folder, command)`` of every line of the README's bash blocks; a
  ``cd`` line moves the folder for the rest of its block."""
  with open(os.path.join(REPO_ROOT, 'README.md')) as f:
    blocks = re.findall(r'```bash\n(.*?)```', f.read(), re.S)
  lines = []
  for block in blocks:
    folder = REPO_ROOT
    for line in block.replace('\\\n', ' ').splitlines():
      line = line.split('#')[0].strip()
      if line.startswith('cd '):
        folder = os.path.join(folder, line.split()[1])
      elif line:
        lines.append((folder, line))
  return lines


def test_readme_commands_name_real_files_targets_and_flags():
  """Every shell command of the README names files, make targets and option
  flags that exist (the programs themselves run in their own tests)."""
  from li_programs.config import config_schema
  with open(os.path.join(REPO_ROOT, 'Makefile')) as f:
    targets = set(re.findall(r'^([a-z][\w-]*):', f.read(), re.M))
  known_flags = set(config_schema.OPTIONS_BY_NAME) | {
      'config_file', 'mode', 'output', 'checkpoint_path', 'output_dir',
      'images', 'formats'}
  with open(os.path.join(REPO_ROOT, 'pyproject.toml')) as f:
    scripts = set(re.findall(r'^(li-\w+) = ', f.read(), re.M))
  assert {'li-train', 'li-validate', 'li-test', 'li-predict'} <= scripts
  lines = _bash_lines()
  assert any(line.startswith('make demo') for _, line in lines)
  assert any(line.startswith('make test') for _, line in lines)
  for folder, line in lines:
    words = line.split()
    if 'make' in words:
      target = words[words.index('make') + 1]
      assert target in targets, line
    for word in words:
      if re.match(r'^[\w./-]+\.(py|sh|ini)$', word) and '<' not in word:
        assert os.path.exists(os.path.join(folder, word)), (word, line)
      flag = re.match(r'^--(no)?(\w+)', word)
      if flag and ('.py' in line or 'runners/' in line or
                   line.startswith('li-') or line.startswith('bash ')):
        assert flag.group(2) in known_flags, (word, line)
    if words[0].startswith('li-'):  # a console script of pyproject.toml
      assert words[0] in scripts, line


def _run_block(block, cwd):
  env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, '-c', block], cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=600)


@pytest.mark.slow
def test_predictor_example_runs_verbatim(tmp_path):
  """The Predictor example, in a folder laid out as `make demo` leaves it
  (a checkpoint of the demo config with seeded random weights)."""
  from helpers import programs as h
  from dataset_generation import make_synthetic_shapes
  blocks = [b for b in _python_blocks() if 'Predictor.from_config' in b]
  assert len(blocks) == 1, 'README lost its Predictor example'
  demo = tmp_path / 'demo_output'
  make_synthetic_shapes.write_dataset(str(demo / 'dataset' / 'raw'), 1, 1,
                                      97, 97, seed=0)
  config = os.path.join(REPO_ROOT, 'config', 'demo',
                        'liMnv2_liAspp_shapes.ini')
  h.save_model_checkpoint(config, str(demo / 'snapshots' /
                                      'liMnv2_liAspp_shapes' / 'train' /
                                      'model.ckpt'), global_step=700)
  result = _run_block(blocks[0], str(tmp_path))
  assert result.returncode == 0, result.stderr[-3000:]
  shape, names = result.stdout.strip().splitlines()[-1].split(') ', 1)
  assert shape == '(97, 97'
  assert set(eval(names)) <= {'background', 'disc', 'square', 'triangle',
                              'cross'}


@pytest.mark.slow
def test_keras_layer_example_runs_verbatim(tmp_path):
  blocks = [b for b in _python_blocks() if 'LateralInhibition(' in b]
  assert len(blocks) == 1, 'README lost its Keras layer example'
  result = _run_block(blocks[0], str(tmp_path))
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().splitlines()[-1] == '(1, 1, 16, 1)'
