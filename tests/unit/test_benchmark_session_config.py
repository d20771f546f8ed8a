"""Session/thread settings (li_programs/runtime/session_config.py) and their
options."""
import os

import pytest

from li_programs.config import config as config_lib
from li_programs.runtime import session_config as sc

from helpers.paths import REPO_ROOT
CONFIG = os.path.join(REPO_ROOT, 'config', 'ADE20K', 'liMnv2_liAspp.ini')


def test_defaults_follow_usable_cpus(monkeypatch):
  monkeypatch.setattr(sc, 'available_cpus', lambda: 6)
  config = sc.session_config()
  assert config.intra_op_parallelism_threads == 6
  assert config.inter_op_parallelism_threads == 2
  assert config.allow_soft_placement
  monkeypatch.setattr(sc, 'available_cpus', lambda: 1)
  config = sc.session_config(allow_soft_placement=False)
  assert config.intra_op_parallelism_threads == 1
  assert config.inter_op_parallelism_threads == 1
  assert not config.allow_soft_placement


def test_available_cpus_respects_affinity():
  assert sc.available_cpus() == len(os.sched_getaffinity(0))


def test_explicit_threads_and_tf_default():
  config = sc.session_config(intra_op_threads=3, inter_op_threads=0)
  assert config.intra_op_parallelism_threads == 3
  assert config.inter_op_parallelism_threads == 0  # TensorFlow chooses


@pytest.mark.parametrize('bad', [-1, 1.5, '2', True])
def test_bad_thread_counts_are_one_line_errors(bad):
  with pytest.raises(ValueError, match='intra_op_threads'):
    sc.session_config(intra_op_threads=bad)
  with pytest.raises(ValueError, match='inter_op_threads'):
    sc.session_config(inter_op_threads=bad)


def test_xla_sets_jit_level_and_cpu_flag(monkeypatch):
  import tensorflow.compat.v1 as tf
  monkeypatch.setenv('TF_XLA_FLAGS', '--tf_xla_min_cluster_size=2')
  config = sc.session_config(xla=True)
  assert (config.graph_options.optimizer_options.global_jit_level ==
          tf.OptimizerOptions.ON_1)
  flags = os.environ['TF_XLA_FLAGS'].split()
  assert flags == ['--tf_xla_min_cluster_size=2', '--tf_xla_cpu_global_jit']
  sc.enable_xla_cpu_autoclustering()  # idempotent
  assert os.environ['TF_XLA_FLAGS'].split() == flags
  assert not sc.session_config().graph_options.optimizer_options \
      .global_jit_level


def test_mkl_environment_only_for_mkl_builds(monkeypatch):
  environ = {'KMP_BLOCKTIME': '30'}
  monkeypatch.setattr(sc, 'is_mkl_build', lambda: False)
  assert sc.configure_mkl_environment(4, environ) == {}
  assert environ == {'KMP_BLOCKTIME': '30'}
  monkeypatch.setattr(sc, 'is_mkl_build', lambda: True)
  set_now = sc.configure_mkl_environment(4, environ)
  assert environ['OMP_NUM_THREADS'] == '4'
  assert environ['KMP_BLOCKTIME'] == '30'  # the user's value wins
  assert 'KMP_BLOCKTIME' not in set_now and 'OMP_NUM_THREADS' in set_now


def test_thread_options_from_config_and_flags():
  cfg = config_lib.load_config(CONFIG, 'test', [])
  assert cfg.intra_op_threads is None and cfg.inter_op_threads is None
  cfg = config_lib.load_config(CONFIG, 'train', ['--intra_op_threads=3',
                                                 '--inter_op_threads', '1'])
  config = sc.session_config_from(cfg)
  assert config.intra_op_parallelism_threads == 3
  assert config.inter_op_parallelism_threads == 1
  with pytest.raises(config_lib.ConfigError, match='intra_op_threads'):
    config_lib.load_config(CONFIG, 'val', ['--intra_op_threads=many'])


def test_xla_option_from_config_and_flags(monkeypatch):
  import tensorflow.compat.v1 as tf
  monkeypatch.setenv('TF_XLA_FLAGS', '')
  assert config_lib.load_config(CONFIG, 'val', []).xla is False
  cfg = config_lib.load_config(CONFIG, 'test', ['--xla'])
  config = sc.session_config_from(cfg)
  assert (config.graph_options.optimizer_options.global_jit_level ==
          tf.OptimizerOptions.ON_1)
  with pytest.raises(config_lib.ConfigError, match='xla'):
    config_lib.load_config(CONFIG, 'train', ['--xla=sometimes'])


@pytest.mark.parametrize('mode,op_graph,lean', [
    ('test', 'fast', True), ('val', 'fast', True),
    ('test', 'original', False), ('train', 'fast', False)])
def test_grappler_runs_only_the_remapper_evaluating_the_fast_graph(
    monkeypatch, mode, op_graph, lean):
  # Evaluating the fast graph on CPUs, Grappler's other passes cost about
  # half a second per run and gave nothing per image; training, the
  # original graph and GPU machines keep TensorFlow's defaults.
  import tensorflow.compat.v1 as tf
  from tensorflow.core.protobuf import rewriter_config_pb2
  rewriter = rewriter_config_pb2.RewriterConfig
  monkeypatch.setattr(tf.config.experimental, 'list_physical_devices',
                      lambda kind=None: [])
  cfg = config_lib.load_config(CONFIG, mode, ['--op_graph=%s' % op_graph])
  options = sc.session_config_from(cfg).graph_options.rewrite_options
  assert options.remapping == rewriter.DEFAULT
  if not lean:
    assert options == rewriter()
    return
  assert options.constant_folding == rewriter.OFF
  assert options.arithmetic_optimization == rewriter.OFF
  assert options.layout_optimizer == rewriter.OFF
  assert options.memory_optimization == rewriter.NO_MEM_OPT
  assert options.meta_optimizer_iterations == rewriter.ONE
  monkeypatch.setattr(tf.config.experimental, 'list_physical_devices',
                      lambda kind=None: ['a GPU'] if kind == 'GPU' else [])
  gpu_options = sc.session_config_from(cfg).graph_options.rewrite_options
  assert gpu_options == rewriter()
