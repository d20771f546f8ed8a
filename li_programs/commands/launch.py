"""Starts a program: prepares the process (li_programs/runtime/process.py)
before the program's module imports TensorFlow, then runs it and exits.

The console scripts ``li-train``, ``li-validate``, ``li-test`` and
``li-predict`` and the top-level ``train.py``, ``validate.py``, ``test.py``
and ``predict.py`` come here; importing a program's module alone (a test,
your own script) changes nothing in the process.
"""
import importlib

from li_programs.runtime import process


def _launch(name):
  process.prepare()
  importlib.import_module('li_programs.commands.' + name).script()


def train():
  _launch('train')


def validate():
  _launch('validate')


def test():
  _launch('test')


def predict():
  _launch('predict')
