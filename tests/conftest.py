"""Shared pytest setup: this checkout and the test helpers on sys.path,
quiet TensorFlow logs, the 1.x graph behaviour the code is written for (on
TensorFlow 2.x), the shared fixtures, and the skip of ``needs_shared`` tests
where ``../shared`` is absent.  The markers (``slow``, ``tf2``,
``needs_shared``) are declared in pyproject.toml.

Test folders: unit/ (pure functions, the LI layer, configs), graphs/ (model
graphs), datasets/ (records and preprocessing), programs/ (train.py,
validate.py, test.py, predict.py), distributed/, tools/, benchmarks/,
reference/ (against what the original produced); helpers/ is what they
share.  Nothing imports this file.
"""
import os
import sys

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
# This checkout first (not another one an editable install points at), and
# the helpers package.
for _path in (_TESTS_DIR, os.path.dirname(_TESTS_DIR)):
  if _path not in sys.path:
    sys.path.insert(0, _path)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# The runners default to .venv-tf2 when it exists; the shell scripts the
# tests start must run on the interpreter (and TensorFlow) under test.
os.environ['PYTHON'] = sys.executable

import pytest  # noqa: E402

from helpers import paths  # noqa: E402
from helpers import programs  # noqa: E402
from libs.core import tf_compat  # noqa: E402

tf_compat.use_graph_mode()


def pytest_collection_modifyitems(config, items):
  if os.path.isdir(paths.SHARED_DIR):
    return
  skip = pytest.mark.skip(reason='needs ../shared beside the checkout')
  for item in items:
    if 'needs_shared' in item.keywords:
      item.add_marker(skip)


@pytest.fixture
def fresh_graph():
  """Runs a test inside its own default graph."""
  import tensorflow.compat.v1 as tf
  graph = tf.Graph()
  with graph.as_default():
    yield graph


@pytest.fixture
def config(tmp_path):
  """A tiny config whose dataset folder exists (no records needed)."""
  return programs.tiny_config(tmp_path)
