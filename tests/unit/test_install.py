"""`make setup` installs the project into its environment in editable mode:
the packages import from any folder and the console scripts run."""
import os
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT

SCRIPTS = ('li-train', 'li-validate', 'li-test', 'li-predict')


def _installed():
  """True when this interpreter's environment has the project installed
  (what `make setup` does; a bare interpreter has not)."""
  return os.path.exists(os.path.join(os.path.dirname(sys.executable),
                                     'li-train'))


needs_install = pytest.mark.skipif(
    not _installed(), reason='the project is not installed in this '
    'environment (make setup installs it)')


def _clean_env():
  env = dict(os.environ)
  env.pop('PYTHONPATH', None)
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  return env


@needs_install
def test_the_packages_import_from_any_folder(tmp_path):
  code = ('import li_utils, li_models, li_programs, libs; '
          'from li_utils.conv_ops import lateral_inhibition_layer; '
          'from li_programs.predictor import Predictor; '
          'print(li_programs.__file__)')
  result = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path),
                          env=_clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  package = result.stdout.strip().splitlines()[-1]
  # From a checkout (editable), not a copy in site-packages.
  assert package.endswith(os.path.join('li_programs', '__init__.py'))
  assert 'site-packages' not in package, package


@needs_install
@pytest.mark.parametrize('script', SCRIPTS)
def test_console_scripts_print_their_options(tmp_path, script):
  path = os.path.join(os.path.dirname(sys.executable), script)
  result = subprocess.run([path, '--help'], cwd=str(tmp_path),
                          env=_clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  program = script[len('li-'):] + '.py'
  assert result.stdout.startswith('usage: %s --config_file' % program)
  assert '--config_file' in result.stdout
  if script != 'li-predict':
    assert '--model_variant' in result.stdout  # every option is listed


def test_no_package_touches_sys_path():
  offenders = []
  for package in ('li_utils', 'li_models', 'li_programs', 'libs'):
    for dirpath, _, filenames in os.walk(os.path.join(REPO_ROOT, package)):
      for name in filenames:
        if name.endswith('.py'):
          path = os.path.join(dirpath, name)
          with open(path) as f:
            if 'sys.path' in f.read():
              offenders.append(os.path.relpath(path, REPO_ROOT))
  assert not offenders
