"""Session settings (thread pools, XLA) shared by the programs and benchmarks.

TensorFlow's own defaults size both thread pools to every CPU it can see,
including CPUs this process is not allowed to run on (containers, taskset),
which oversubscribes small machines.  ``session_config`` sizes them to the
CPUs the process may actually use:

* ``intra_op_threads`` (one op split over threads, e.g. a convolution):
  every usable CPU.  Segmentation graphs are chains of large convolutions,
  so this pool does the work.
* ``inter_op_threads`` (independent ops run side by side): 2, or 1 on a
  single-CPU machine.  The ASPP branches and the input pipeline give a
  little parallelism; more inter-op threads only contend for the same cores.

With a oneDNN/MKL build of TensorFlow (``intel-tensorflow``) the OpenMP
runtime is configured through environment variables, which must be set
before the first MKL op runs: ``configure_mkl_environment`` does that
(``OMP_NUM_THREADS`` = intra-op threads, ``KMP_BLOCKTIME=1`` so idle OpenMP
threads stop spinning and leave the cores to the input pipeline), without
overriding values the user already exported.
"""
import os

import tensorflow.compat.v1 as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from libs.core import op_graphs

# Environment variable that enables XLA auto-clustering of CPU ops; the
# session's global_jit_level alone only clusters GPU ops in TF 1.15.
_XLA_CPU_FLAG = '--tf_xla_cpu_global_jit'


def available_cpus():
  """Number of CPUs this process may run on (affinity-aware)."""
  try:
    return max(1, len(os.sched_getaffinity(0)))
  except AttributeError:  # not Linux
    return max(1, os.cpu_count() or 1)


def default_threads():
  """(intra_op_threads, inter_op_threads) used when a value is None."""
  cpus = available_cpus()
  return cpus, (1 if cpus == 1 else 2)


def _check_threads(name, value):
  if value is None:
    return
  if isinstance(value, bool) or not isinstance(value, int) or value < 0:
    raise ValueError('%s must be a non-negative integer (0 = TensorFlow '
                     'default, unset = auto), got %r' % (name, value))


def is_mkl_build():
  """True for oneDNN/MKL builds of TensorFlow (e.g. intel-tensorflow)."""
  try:
    # Private module: absent or different in some TensorFlow builds.
    from tensorflow.python import pywrap_tensorflow
    return bool(pywrap_tensorflow.IsMklEnabled())
  except (ImportError, AttributeError):
    return False


def configure_mkl_environment(intra_op_threads=None, environ=None):
  """Sets OpenMP variables for MKL builds (no-op otherwise).

  Values already present in the environment are kept.

  Returns:
    dict of the variables this call set.
  """
  environ = os.environ if environ is None else environ
  if not is_mkl_build():
    return {}
  intra = intra_op_threads or default_threads()[0]
  wanted = {'OMP_NUM_THREADS': str(intra), 'KMP_BLOCKTIME': '1',
            'KMP_AFFINITY': 'granularity=fine,compact,1,0'}
  set_now = {}
  for key, value in wanted.items():
    if key not in environ:
      environ[key] = value
      set_now[key] = value
  return set_now


def enable_xla_cpu_autoclustering(environ=None):
  """Adds the flag that lets XLA auto-cluster CPU ops (before first use)."""
  environ = os.environ if environ is None else environ
  flags = environ.get('TF_XLA_FLAGS', '')
  if _XLA_CPU_FLAG not in flags.split():
    environ['TF_XLA_FLAGS'] = (flags + ' ' + _XLA_CPU_FLAG).strip()


def session_config(intra_op_threads=None, inter_op_threads=None,
                   allow_soft_placement=True, xla=False, allow_growth=True):
  """A tf.ConfigProto with thread pools sized to this machine.

  Args:
    intra_op_threads: threads inside one op; None = every usable CPU,
      0 = TensorFlow's own default.
    inter_op_threads: ops run concurrently; None = 2 (1 on one CPU),
      0 = TensorFlow's own default.
    allow_soft_placement: fall back to the CPU for ops without a kernel on
      the requested device.
    xla: turn on XLA JIT auto-clustering (``global_jit_level=ON_1``; on CPU
      also sets TF_XLA_FLAGS, see ``enable_xla_cpu_autoclustering``).
    allow_growth: GPU memory is taken as needed (False: all of it at once).

  Raises:
    ValueError: a thread count that is not a non-negative integer.
  """
  _check_threads('intra_op_threads', intra_op_threads)
  _check_threads('inter_op_threads', inter_op_threads)
  auto_intra, auto_inter = default_threads()
  intra = auto_intra if intra_op_threads is None else intra_op_threads
  inter = auto_inter if inter_op_threads is None else inter_op_threads
  configure_mkl_environment(intra or None)
  config = tf.ConfigProto(intra_op_parallelism_threads=intra,
                          inter_op_parallelism_threads=inter,
                          allow_soft_placement=allow_soft_placement)
  config.gpu_options.allow_growth = bool(allow_growth)
  if xla:
    enable_xla_cpu_autoclustering()
    config.graph_options.optimizer_options.global_jit_level = (
        tf.OptimizerOptions.ON_1)
  return config


# Grappler's passes that ``remapper_only`` turns off (those this TensorFlow
# has); the remapper stays on: it fuses convolution, bias and activation
# into one oneDNN kernel.
_GRAPPLER_PASSES_OFF = (
    'constant_folding', 'arithmetic_optimization', 'dependency_optimization',
    'loop_optimization', 'function_optimization', 'debug_stripper',
    'shape_optimization', 'layout_optimizer', 'pin_to_host_optimization',
    'implementation_selector', 'common_subgraph_elimination',
    'scoped_allocator_optimization')


def remapper_only(config):
  """Leaves only Grappler's remapper on in ``config``, for one iteration.

  Grappler rewrites the graph again for every new set of fetches a session
  runs.  On the evaluation graphs of the fast op graph its other passes
  took about half a second at the start of a run and changed nothing
  measurable per image (docs/performance.md, Start and end); training
  steps were 1-4% faster with them, so training keeps TensorFlow's
  defaults.

  Returns:
    ``config``, changed in place.
  """
  rewriter = rewriter_config_pb2.RewriterConfig
  options = config.graph_options.rewrite_options
  for name in _GRAPPLER_PASSES_OFF:
    if name in options.DESCRIPTOR.fields_by_name:
      setattr(options, name, rewriter.OFF)
  options.memory_optimization = rewriter.NO_MEM_OPT
  options.meta_optimizer_iterations = rewriter.ONE
  return config


def session_config_from(cfg):
  """``session_config`` from a loaded config's thread / xla / allow_growth
  options; evaluating (``val``/``test`` configs) the fast op graph without
  a GPU, with only Grappler's remapper (``remapper_only``: measured on
  CPUs; on a GPU its layout optimizer may matter)."""
  config = session_config(
      intra_op_threads=getattr(cfg, 'intra_op_threads', None),
      inter_op_threads=getattr(cfg, 'inter_op_threads', None),
      xla=bool(getattr(cfg, 'xla', False)),
      allow_growth=getattr(cfg, 'allow_growth', True) is not False)
  if (getattr(cfg, 'mode', None) in ('val', 'test') and
      getattr(cfg, 'op_graph', None) == op_graphs.FAST and
      not tf.config.experimental.list_physical_devices('GPU')):
    remapper_only(config)
  return config
