"""Shared pytest setup: the repo root and this folder (the test helpers) on
sys.path, the ``slow`` marker, quiet TensorFlow logs and, on TensorFlow 2.x,
the 1.x graph behaviour the code is written for.

Test folders: unit/ (pure functions, the LI layer, configs), graphs/ (model
graphs), datasets/ (records and preprocessing), programs/ (train.py,
validate.py, test.py), distributed/, tools/, reference/ (against what the
original produced).  ``make test-fast`` deselects the tests marked ``slow``.
"""
import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
SHARED_DIR = os.path.join(os.path.dirname(REPO_ROOT), 'shared')
# The reference graph manifests (variables of 45 graphs of the original),
# kept with the tests so that a clone without ../shared checks LI placement.
REFERENCE_GRAPHS_DIR = os.path.join(TESTS_DIR, 'data', 'reference_graphs')

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# The runners default to .venv-tf2 when it exists; the shell scripts the
# tests start must run on the interpreter (and TensorFlow) under test.
os.environ['PYTHON'] = sys.executable
for _path in (TESTS_DIR, REPO_ROOT):
  if _path not in sys.path:
    sys.path.insert(0, _path)

import pytest  # noqa: E402

from libs.core import tf_compat  # noqa: E402

tf_compat.use_graph_mode()


def pytest_configure(config):
  config.addinivalue_line(
      'markers', 'slow: takes more than a few seconds (trains, evaluates or '
      'builds many graphs); `make test-fast` deselects it')


@pytest.fixture
def fresh_graph():
  """Runs a test inside its own default graph."""
  import tensorflow.compat.v1 as tf
  graph = tf.Graph()
  with graph.as_default():
    yield graph
