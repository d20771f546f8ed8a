"""Only a program's own process is prepared (li_programs/runtime/process.py):
importing the programs' modules -- as a test, a notebook or a user's Keras
script does -- leaves the environment as it was.  (A module-level
``prepare()`` in tools/export_model.py once set TF_USE_LEGACY_KERAS for the
whole test run, and the Keras layer tests that ran after it failed.)"""
import importlib.util
import os
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT

PROGRAM_MODULES = [
    'li_programs.commands.train', 'li_programs.commands.validate',
    'li_programs.commands.test', 'li_programs.commands.predict',
    'li_programs.commands.launch', 'tools.export_model']


def _environment_after(code):
  env = {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  proc = subprocess.run(
      [sys.executable, '-c', code + '\nimport os\n'
       'print(os.environ.get("TF_USE_LEGACY_KERAS", "unset"))'],
      cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return proc.stdout.strip().splitlines()[-1]


@pytest.mark.tf2
def test_importing_the_programs_leaves_the_environment_alone():
  imports = '\n'.join('import ' + m for m in PROGRAM_MODULES)
  assert _environment_after(imports) == 'unset'


@pytest.mark.tf2
def test_prepare_sets_it_unless_tf_keras_is_installed():
  expected = 'unset' if importlib.util.find_spec('tf_keras') else '1'
  assert _environment_after(
      'from li_programs.runtime import process\nprocess.prepare()') == expected


def test_imports_run_without_gc_then_are_frozen_out_of_it():
  # The launchers import a program (and TensorFlow) with the cyclic
  # collector off; afterwards it is back on and the imported objects are
  # in the permanent generation, which later collections skip.
  code = (
      'import gc\n'
      'from li_programs.runtime import process\n'
      'before = gc.get_freeze_count()\n'
      'with process.imports_without_gc():\n'
      '  assert not gc.isenabled()\n'
      '  import json, email.parser\n'
      'assert gc.isenabled() and gc.get_freeze_count() > before\n'
      'gc.disable()\n'
      'frozen = gc.get_freeze_count()\n'
      'with process.imports_without_gc():\n'
      '  import csv\n'
      'assert not gc.isenabled() and gc.get_freeze_count() == frozen\n'
      'print("ok")\n')
  proc = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=60)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.strip() == 'ok'
