"""`make setup` builds what the machine can, `make test` and `make demo` use
what exists and say which (dry runs in a copy of the build files)."""
import os
import shutil
import subprocess

import pytest

from helpers.paths import REPO_ROOT

BUILD_FILES = ('Makefile', 'pyproject.toml', 'requirements.txt',
               'requirements-tf2.txt', 'requirements-tf2-gpu.txt',
               'tools/find_python37.sh', 'tools/find_python_tf2.sh',
               'tools/pick_env.sh')


def _python_tf2():
  result = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools',
                                                'find_python_tf2.sh')],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True,
                          env=dict(os.environ, PYTHON=''))
  return result.stdout.strip() if result.returncode == 0 else None


@pytest.fixture
def fresh_clone(tmp_path):
  """The build files of a clone, with no environment built yet."""
  for name in BUILD_FILES:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(os.path.join(REPO_ROOT, name), str(target))
  return tmp_path


# What an enclosing make passes down (the suite itself runs under `make
# test`, whose TF_PICKED=1 would otherwise reach these dry runs).
_MAKE_VARIABLES = ('TF', 'TF_PICKED', 'TESTS', 'TESTS_MARK', 'PYTHON')


def _make(folder, args, python=None):
  env = {k: v for k, v in os.environ.items()
         if not k.startswith('MAKE') and k not in _MAKE_VARIABLES}
  if python is not None:
    env['PYTHON'] = python
  return subprocess.run(['make', '--no-print-directory', '-n'] + args,
                        cwd=str(folder), env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, universal_newlines=True,
                        timeout=120)


def test_setup_without_any_python_fails_naming_both(fresh_clone):
  result = _make(fresh_clone, ['setup'], '/bin/false')
  assert result.returncode != 0
  assert 'skipped .venv (TensorFlow 1.15.5, the reference)' in result.stdout
  assert 'skipped .venv-tf2 (TensorFlow 2.x)' in result.stdout
  assert ('error: make setup found neither Python 3.7 (TensorFlow 1.15) nor '
          'Python 3.9-3.12 (TensorFlow 2.x)') in result.stdout


def test_test_without_any_python_fails_in_one_line(fresh_clone):
  result = _make(fresh_clone, ['test'], '/bin/false')
  assert result.returncode != 0
  assert 'error: make test needs Python 3.7' in result.stdout


@pytest.mark.skipif(_python_tf2() is None, reason='no Python 3.9-3.12 here')
def test_setup_builds_tf2_alone_when_there_is_no_python37(fresh_clone):
  result = _make(fresh_clone, ['setup'], _python_tf2())
  assert result.returncode == 0, result.stdout
  skipped = [line for line in result.stdout.splitlines()
             if line.startswith('make setup: skipped')]
  assert len(skipped) == 1 and 'skipped .venv (' in skipped[0], skipped
  assert 'is not a working Python 3.7' in skipped[0]
  # The TF 2 environment is built, with the project installed editable.
  assert '.venv-tf2/bin/python -m pip install' in result.stdout
  assert '--no-deps -e .' in result.stdout
  assert 'make setup: ready: .venv-tf2' in result.stdout


@pytest.mark.skipif(_python_tf2() is None, reason='no Python 3.9-3.12 here')
@pytest.mark.parametrize('target,folder', [('test', 'tests'),
                                           ('demo', 'runners/demo.sh')])
def test_test_and_demo_fall_back_to_tf2_and_say_so(fresh_clone, target,
                                                   folder):
  result = _make(fresh_clone, [target], _python_tf2())
  assert result.returncode == 0, result.stdout
  assert ('make %s: using .venv-tf2 (TensorFlow 2.x)' % target
          in result.stdout), result.stdout
  command = [line for line in result.stdout.splitlines()
             if '.venv-tf2/bin/python -m pytest' in line or 'demo.sh' in line]
  assert command and folder in command[-1], result.stdout
  if target == 'test':  # the only stack runs every test, not the TF 2 part
    assert ' -m pytest tests -q' in command[-1], command[-1]
    assert '-m "tf2"' not in command[-1], command[-1]
  else:  # the demo goes where the README's predict.py example reads it
    assert 'demo_output_tf2' not in command[-1], command[-1]


def test_an_explicit_tf2_demo_keeps_its_own_folder():
  result = _make(REPO_ROOT, ['demo', 'TF=2'])
  assert result.returncode == 0, result.stdout
  assert 'DEMO_OUTPUT="demo_output_tf2"' in result.stdout, result.stdout


def test_the_tf2_part_of_ci_is_the_tests_marked_tf2():
  result = _make(REPO_ROOT, ['test', 'TF=2'])
  assert result.returncode == 0, result.stdout
  assert result.stdout.strip().splitlines()[-1].endswith(
      '-m pytest tests -q -p no:cacheprovider -m "tf2"'), result.stdout
