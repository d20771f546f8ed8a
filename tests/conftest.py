"""Shared pytest setup: the repo root on sys.path, quiet TensorFlow logs and,
on TensorFlow 2.x, the 1.x graph behaviour the code is written for."""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DIR = os.path.join(os.path.dirname(REPO_ROOT), 'shared')

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

import pytest  # noqa: E402

from libs.core import tf_compat  # noqa: E402

tf_compat.use_graph_mode()


@pytest.fixture
def fresh_graph():
  """Runs a test inside its own default graph."""
  import tensorflow.compat.v1 as tf
  graph = tf.Graph()
  with graph.as_default():
    yield graph
