"""Starts a program: prepares the process (li_programs/runtime/process.py)
before the program's module imports TensorFlow, then runs it and exits.

The console scripts ``li-train``, ``li-validate``, ``li-test`` and
``li-predict`` and the top-level ``train.py``, ``validate.py``, ``test.py``
and ``predict.py`` come here; importing a program's module alone (a test,
your own script) changes nothing in the process.
"""
import importlib
import sys

from li_programs.runtime import process


def _launch(name, exit_now=False):
  """Runs program ``name`` on ``sys.argv`` and exits with its status;
  ``exit_now``: without the interpreter's teardown (process.exit_now), for
  the evaluating programs, which close every file before they return."""
  process.prepare()
  with process.imports_without_gc():
    program = importlib.import_module('li_programs.commands.' + name)
  status = program.run()
  if exit_now:
    process.exit_now(status)
  sys.exit(status)


def train():
  _launch('train')


def validate():
  _launch('validate', exit_now=True)


def test():
  _launch('test', exit_now=True)


def predict():
  _launch('predict')
