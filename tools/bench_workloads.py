"""The timed workloads of the benchmarks, and the worker process that runs one.

A *figure* is one unit of work the README quotes: ``test.py``'s graph per
image or ``train.py``'s train op per step, for one shipped config at one
crop.  ``python -m tools.bench_workloads --figure NAME ...`` builds that
graph in a fresh process under whichever Python (and so TensorFlow build)
runs it, times it and writes a JSON result: timings, peak resident memory
of the process, the TensorFlow build, and outputs the drivers compare
across builds.  ``tools/benchmark.py`` and ``tools/benchmark_backends.py``
run these workers side by side.

Only the pixels are synthetic: every graph is the one of its config
(classes, crops, rates, LI placement), with ``dataset_dir`` pointed at
generated synthetic-shapes TFRecords and the initial checkpoint switched off.
Weights come from a checkpoint the first worker of a figure writes and every
later worker restores, so all builds run the same numbers.
"""
import argparse
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

from dataset_generation import build_voc2012_data  # noqa: E402
from dataset_generation import make_synthetic_shapes  # noqa: E402
from libs.core import op_graphs  # noqa: E402
from li_programs import config as config_lib  # noqa: E402
from li_programs import evaluation  # noqa: E402
from li_programs import inference_engine  # noqa: E402
from li_programs import session_config as sc  # noqa: E402
from li_programs import training_graph  # noqa: E402
from libs.core import tf_compat  # noqa: E402
from libs.datasets import data_generator  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 1234

_MNV2_BASELINE = ['--model_variant=mobilenet_v2', '--dpn_variant=aspp']
_R50_BASELINE = ['--model_variant=resnet_v1_50_beta', '--dpn_variant=aspp']
# name -> (mode, config relative to the repo, extra flags, crop, batch).
# The crops and batch are those of the figures the project quotes: test.py
# at 513x513 on CelebAMask-HQ, train.py at 129x129, batch 4, on ADE20K.
FIGURES = {
    'test_li_mnv2': ('eval', 'config/CelebAMask_HQ/liMnv2_liAspp.ini', [],
                     513, 1),
    'train_li_mnv2': ('train', 'config/ADE20K/liMnv2_liAspp.ini', [], 129, 4),
    'test_li_r50': ('eval', 'config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
                    [], 513, 1),
    'train_li_r50': ('train', 'config/ADE20K/liResnet50_liAspp_dcd.ini', [],
                     129, 4),
    # The same graphs without LI (MobileNetV2 + ASPP, ResNet-50-beta + ASPP
    # + decoder): the LI overhead is the time ratio against these.
    'test_mnv2': ('eval', 'config/CelebAMask_HQ/liMnv2_liAspp.ini',
                  _MNV2_BASELINE, 513, 1),
    'train_mnv2': ('train', 'config/ADE20K/liMnv2_liAspp.ini', _MNV2_BASELINE,
                   129, 4),
    'test_r50': ('eval', 'config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
                 _R50_BASELINE, 513, 1),
    'train_r50': ('train', 'config/ADE20K/liResnet50_liAspp_dcd.ini',
                  _R50_BASELINE, 129, 4),
}
LI_BASELINES = {'test_li_mnv2': 'test_mnv2', 'train_li_mnv2': 'train_mnv2',
                'test_li_r50': 'test_r50', 'train_li_r50': 'train_r50'}


class BenchmarkError(ValueError):
  """Bad benchmark arguments or a failed worker (one-line message)."""


# --------------------------------------------------------------------------
# Timing, memory and machine facts.

def time_calls(fn, warmup, repeats):
  """Runs ``fn`` ``warmup`` times untimed, then returns ``repeats`` timings."""
  return time_interleaved([fn], warmup, repeats)[0]


def time_interleaved(fns, warmup, repeats):
  """``time_calls`` for several callables at once: one call of each in turn
  (the order flips every repeat), so that a machine whose speed drifts slows
  them alike; returns one list of timings per callable."""
  if repeats < 1 or warmup < 0:
    raise BenchmarkError('repeats must be >= 1 and warmup >= 0, got %r, %r'
                         % (repeats, warmup))
  for _ in range(warmup):
    for fn in fns:
      fn()
  times = [[] for _ in fns]
  order = list(range(len(fns)))
  for _ in range(repeats):
    for i in order:
      start = time.perf_counter()
      fns[i]()
      times[i].append(time.perf_counter() - start)
    order.reverse()
  return times


def time_on_command(fn, warmup, commands, replies):
  """``time_calls`` paced by another process, so that workers of two
  TensorFlow builds can take turns run by run.

  After ``warmup`` untimed calls it writes ``ready`` to ``replies``; then
  each ``run`` line read from ``commands`` is one timed call, answered by
  ``done``.  The end of ``commands`` (or any other line) ends the timing.
  """
  for _ in range(warmup):
    fn()
  replies.write('ready\n')
  replies.flush()
  times = []
  for line in commands:
    if line.strip() != 'run':
      break
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
    replies.write('done\n')
    replies.flush()
  if not times:
    raise BenchmarkError('the driver asked for no timed run')
  return times


def summarize(times):
  """Median, min, max and all timings (seconds)."""
  return {'median_s': statistics.median(times), 'min_s': min(times),
          'max_s': max(times), 'times_s': [round(t, 6) for t in times]}


def log(message):
  """A timestamped progress line on stderr."""
  sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), message))
  sys.stderr.flush()


def peak_rss_mib():
  """Peak resident memory of this process so far, MiB (Linux: KiB units)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loadavg():
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return None


def machine_info():
  """CPU model and flags, usable CPUs, memory (timings are wall time)."""
  info = {'hostname': platform.node(), 'os_cpu_count': os.cpu_count(),
          'python': platform.python_version(), 'cpu': None, 'cpu_flags': []}
  try:
    info['usable_cpus'] = len(os.sched_getaffinity(0))
  except AttributeError:
    info['usable_cpus'] = os.cpu_count()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        if key.strip() == 'model name' and not info['cpu']:
          info['cpu'] = value.strip()
        elif key.strip() == 'flags' and not info['cpu_flags']:
          info['cpu_flags'] = sorted(set(value.split()) & {
              'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni'})
    with open('/proc/meminfo') as f:
      info['memory_gib'] = round(int(f.readline().split()[1]) / 2.0 ** 20, 1)
  except (IOError, ValueError, IndexError):
    pass
  return info


def tensorflow_info():
  """Version and build facts of the TensorFlow this process imported."""
  return {'version': tf.version.VERSION, 'mkl_enabled': sc.is_mkl_build(),
          'cuda_build': bool(tf.test.is_built_with_cuda()),
          'python': platform.python_version()}


# --------------------------------------------------------------------------
# Data and configs.

def make_bench_records(root, num_images, image_size, seed=0):
  """Synthetic-shapes train/val TFRecords under ``root``; returns their folder.

  Labels are classes 0-4 without the 255 ignore band, valid for every
  benchmarked dataset.  An earlier set with the same parameters (recorded
  in a stamp file) is reused.
  """
  stamp = {'num_images': num_images, 'image_size': image_size, 'seed': seed,
           'ignore_width': 0}
  tfrecord_dir = os.path.join(root, 'tfrecord')
  stamp_path = os.path.join(root, 'stamp.json')
  if os.path.isfile(stamp_path):
    with open(stamp_path) as f:
      if json.load(f) == stamp:
        return tfrecord_dir
  shutil.rmtree(root, ignore_errors=True)
  raw = os.path.join(root, 'raw')
  make_synthetic_shapes.write_dataset(raw, num_images, num_images, image_size,
                                      image_size, seed=seed, ignore_width=0)
  status = build_voc2012_data.main([
      '--image_folder', os.path.join(raw, 'JPEGImages'),
      '--semantic_segmentation_folder', os.path.join(raw, 'SegmentationClass'),
      '--list_folder', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--image_format', 'jpg', '--label_format', 'png',
      '--output_dir', tfrecord_dir, '--num_shards', '2'])
  if status:
    raise BenchmarkError('building the benchmark TFRecords in %s failed'
                         % tfrecord_dir)
  shutil.rmtree(raw, ignore_errors=True)
  with open(stamp_path, 'w') as f:
    json.dump(stamp, f)
  return tfrecord_dir


def figure_config(name, dataset_dir, crop=None, batch=None,
                  op_graph=op_graphs.FAST,
                  engine=inference_engine.AUTO, threads=None):
  """The loaded config of figure ``name``, its data redirected to the records.

  ``crop``/``batch`` override the figure's (quick runs and tests);
  ``op_graph`` and ``engine`` (``inference_engine``, test figures) are the
  config options of those names; ``threads``: ``{'intra_op_threads': n,
  'inter_op_threads': m}`` config options (None values: the defaults), which
  reach the session and, as the programs', the TF Lite interpreter.
  """
  if name not in FIGURES:
    raise BenchmarkError('unknown figure %r; allowed values: %s'
                         % (name, ', '.join(sorted(FIGURES))))
  mode, config, flags, fig_crop, fig_batch = FIGURES[name]
  crop = crop or fig_crop
  batch = batch or fig_batch
  flags = list(flags) + [
      '--dataset_dir=%s' % dataset_dir,
      '--snapshot_root=%s' % tempfile.gettempdir(),
      '--op_graph=%s' % op_graph]
  flags += ['--%s=%d' % (key, value)
            for key, value in sorted((threads or {}).items())
            if value is not None]
  if mode == 'train':
    flags += ['--train_split=train', '--tf_initial_checkpoint=none',
              '--num_clones=1', '--train_batch_size=%d' % batch,
              '--train_crop_size=%d,%d' % (crop, crop)]
    return config_lib.load_config(os.path.join(REPO_ROOT, config), 'train',
                                  flags)
  flags += ['--test_split=val', '--val_split=val',
            '--eval_crop_size=%d,%d' % (crop, crop),
            '--inference_engine=%s' % engine]
  return config_lib.load_config(os.path.join(REPO_ROOT, config), 'test',
                                flags)


# --------------------------------------------------------------------------
# Graphs.

def build_train_step(cfg, seed=SEED):
  """train.py's train op fed by train.py's input pipeline (TFRecords).

  Returns:
    dict with 'graph', 'train_op', 'total_loss', 'init'.
  """
  descriptor = data_generator.get_descriptor(cfg.dataset)
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(seed)
    samples, _ = training_graph.train_samples(cfg)
    ops = training_graph.build_train_ops(cfg, samples,
                                descriptor.num_classes,
                                descriptor.ignore_label, train_dir=None)
    init = [tf.global_variables_initializer(),
            tf.local_variables_initializer()]
  return {'graph': graph, 'train_op': ops.train_op,
          'total_loss': ops.total_loss, 'init': init}


def build_eval_step(cfg, seed=SEED, engine=None):
  """test.py's graph (records, batch 1) with a step that restarts the split.

  ``engine``: as test.py's (default: resolved from ``cfg``).

  Returns:
    dict with 'graph', 'init', 'iterator', 'fetches' and 'eval_graph' (the
    EvalGraph, whose predictor is None when the model is in the graph).
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(seed)
    eval_graph = evaluation.build_eval_graph(
        cfg, cfg.test_split, evaluation.eval_scales_of(cfg),
        cfg.add_flipped_images, engine=engine, program='bench_workloads')
    init = [tf.global_variables_initializer(),
            tf.local_variables_initializer()]
  return {'graph': graph, 'init': init, 'iterator': eval_graph.iterator,
          'fetches': eval_graph.fetches, 'eval_graph': eval_graph}


def _restore_or_create(sess, init, checkpoint):
  """Restores the figure's shared weights, or creates and saves them."""
  saver = tf.train.Saver(tf.global_variables())
  sess.run(init)
  if checkpoint and os.path.isfile(checkpoint + '.index'):
    saver.restore(sess, checkpoint)
    return 'restored'
  if checkpoint:
    saver.save(sess, checkpoint, write_meta_graph=False)
  return 'created'


def _restore_predictor(cfg, predictor, checkpoint):
  """Loads the shared weights into a TflitePredictor; when there are none
  yet, the session graph of the figure creates them first (same seed)."""
  weights = 'restored'
  if not (checkpoint and os.path.isfile(checkpoint + '.index')):
    checkpoint = checkpoint or os.path.join(tempfile.mkdtemp(), 'weights')
    step = build_eval_step(cfg, engine=inference_engine.SESSION)
    with tf.Session(graph=step['graph']) as sess:
      weights = _restore_or_create(sess, step['init'], checkpoint)
  predictor.restore(checkpoint)
  return weights


def op_profile(sess, fetch, graph, runs=2):
  """Per-op CPU time of ``fetch`` from traced runs (RunMetadata step stats).

  Returns:
    dict: 'op_time_ms' (sum over ops but the input iterator's, which
    counts waiting, per run), 'li_op_time_ms' (ops under
    a ``lateral_inhibition`` scope), 'li_op_share' and 'by_type' (the eight
    costliest op types, ms per run).
  """
  import tensorflow.compat.v1 as tf
  options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
  by_type, li_us = {}, 0.0
  for _ in range(runs):
    metadata = tf.RunMetadata()
    sess.run(fetch, options=options, run_metadata=metadata)
    for device in metadata.step_stats.dev_stats:
      for node in device.node_stats:
        name = node.node_name.split(':')[0]
        try:
          op_type = graph.get_operation_by_name(name).type
        except KeyError:  # nodes the graph optimiser made or renamed
          op_type = name
        if 'Iterator' in op_type or 'Iterator' in name:
          continue  # waiting for the input pipeline, not compute
        by_type[op_type] = by_type.get(op_type, 0.0) + node.all_end_rel_micros
        if 'lateral_inhibition' in name:
          li_us += node.all_end_rel_micros
  total = sum(by_type.values())
  top = sorted(by_type.items(), key=lambda kv: -kv[1])[:8]
  return {'op_time_ms': total / runs / 1e3, 'li_op_time_ms': li_us / runs / 1e3,
          'li_op_share': li_us / total if total else 0.0,
          'by_type': {k: round(v / runs / 1e3, 2) for k, v in top}}


class _OpenFigure(object):
  """One figure's graph in its own session, weights loaded, ready to time.

  ``one()`` runs one step (train) or one image (test); ``close()`` ends the
  session.
  """

  def __init__(self, name, dataset_dir, checkpoint=None, crop=None,
               batch=None, threads=None, op_graph=op_graphs.FAST,
               engine=inference_engine.AUTO):
    self.cfg = figure_config(name, dataset_dir, crop, batch, op_graph, engine,
                             threads)
    self.mode = FIGURES[name][0]
    start = time.perf_counter()
    self.step = (build_train_step if self.mode == 'train' else
                 build_eval_step)(self.cfg)
    self.build_s = time.perf_counter() - start
    self.sess = tf.Session(graph=self.step['graph'],
                           config=sc.session_config_from(self.cfg))
    self.predictor = (self.step['eval_graph'].predictor
                      if 'eval_graph' in self.step else None)
    try:
      self._load(checkpoint)
    except BaseException:  # a bad checkpoint, an interrupt: no open session
      self.close()
      raise

  def _load(self, checkpoint):
    """Restores (or creates) the weights and runs the figure once."""
    sess, step = self.sess, self.step
    with step['graph'].as_default():
      if self.predictor is None:
        self.weights = _restore_or_create(sess, step['init'], checkpoint)
      else:  # the graph holds only the input pipeline
        sess.run(step['init'])
        self.weights = _restore_predictor(self.cfg, self.predictor,
                                          checkpoint)
    if self.mode == 'train':
      first = float(sess.run(step['total_loss']))
      self.outputs = {'loss_before_first_step': first}
    else:
      sess.run(step['iterator'].initializer)
      prediction = self._predict()
      sess.run(step['iterator'].initializer)
      self.outputs = {'first_prediction_histogram': np.bincount(
          prediction.ravel(), minlength=1).tolist()}

  def _predict(self):
    return evaluation.fetch_sample(self.sess,
                                   self.step['eval_graph'])['prediction']

  def one(self):
    if self.mode == 'train':
      self.sess.run(self.step['train_op'])
      return
    try:
      self._predict()
    except tf.errors.OutOfRangeError:
      self.sess.run(self.step['iterator'].initializer)
      self._predict()

  def profile(self):
    """op_profile of two more runs; None under TF Lite (not traced)."""
    if self.predictor is not None:
      return None
    fetch = self.step['train_op' if self.mode == 'train' else 'fetches']
    try:
      return op_profile(self.sess, fetch, self.step['graph'])
    except tf.errors.OutOfRangeError:  # the split ran out: restart it
      self.sess.run(self.step['iterator'].initializer)
      return op_profile(self.sess, fetch, self.step['graph'])

  def close(self):
    self.sess.close()


def run_figure(name, dataset_dir, warmup, repeats, checkpoint=None,
               crop=None, batch=None, threads=None, trace=False,
               op_graph=op_graphs.FAST, engine=inference_engine.AUTO,
               timer=None):
  """Times figure ``name`` in this process; returns the result dict.

  ``trace``: also profile the ops of two more runs (``op_profile``; not
  under the tflite engine, whose ops TensorFlow does not trace).
  ``timer``: ``fn(one_run) -> timings`` in place of ``time_calls`` with
  ``warmup`` and ``repeats`` (``--serve`` passes ``time_on_command``).
  """
  figure = _OpenFigure(name, dataset_dir, checkpoint, crop, batch,
                       threads, op_graph, engine)
  try:
    times = (timer(figure.one) if timer else
             time_calls(figure.one, warmup, repeats))
    profile = figure.profile() if trace else None
  finally:
    figure.close()
  cfg, mode = figure.cfg, figure.mode
  crop = cfg.train_crop_size if mode == 'train' else cfg.eval_crop_size
  return {'profile': profile, 'figure': name, 'mode': mode, 'crop': list(crop),
          'batch': cfg.train_batch_size if mode == 'train' else 1,
          'timing': summarize(times), 'graph_build_s': round(figure.build_s, 3),
          'peak_rss_mib': round(peak_rss_mib(), 1), 'weights': figure.weights,
          'outputs': figure.outputs, 'tensorflow': tensorflow_info(),
          'op_graph': op_graph,
          'inference_engine': (None if mode == 'train' else
                               inference_engine.TFLITE if figure.predictor
                               else inference_engine.SESSION)}


def run_pair(name, baseline, dataset_dir, warmup, repeats, checkpoint=None,
             baseline_checkpoint=None, crop=None, batch=None,
             threads=None, op_graph=op_graphs.FAST,
             engine=inference_engine.AUTO):
  """Times figure ``name`` and ``baseline`` interleaved in this process.

  The LI overhead is a few per cent; timed in separate processes a minute
  apart it drowned in the machine's drift (-10% to +11% over runs of one
  build). Both graphs here are open at once and run in turn.

  Returns:
    dict with both timings and 'overhead' (median over median, minus 1).
  """
  figures = []
  try:
    for fig, ckpt in ((name, checkpoint), (baseline, baseline_checkpoint)):
      figures.append(_OpenFigure(fig, dataset_dir, ckpt, crop, batch,
                                 threads, op_graph, engine))
    times = time_interleaved([f.one for f in figures], warmup, repeats)
  finally:
    for figure in figures:
      figure.close()
  li, base = summarize(times[0]), summarize(times[1])
  return {'figure': name, 'baseline': baseline, 'timing': li,
          'baseline_timing': base,
          'overhead': li['median_s'] / base['median_s'] - 1.0,
          'peak_rss_mib': round(peak_rss_mib(), 1),
          'tensorflow': tensorflow_info(), 'op_graph': op_graph}


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='bench_workloads',
      description='Time one benchmark figure in this process (worker).')
  parser.add_argument('--figure', required=True, choices=sorted(FIGURES))
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--out', required=True, help='result JSON path')
  parser.add_argument('--checkpoint', default=None,
                      help='shared weights: restored if present, else saved')
  parser.add_argument('--warmup', type=int, default=1)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--crop', type=int, default=None)
  parser.add_argument('--batch', type=int, default=None)
  parser.add_argument('--trace', action='store_true',
                      help='also profile the ops (RunMetadata step stats)')
  parser.add_argument('--intra_op_threads', type=int, default=None,
                      help="the programs' option: TensorFlow's threads in "
                      "one op, and the TF Lite interpreter's")
  parser.add_argument('--inter_op_threads', type=int, default=None)
  parser.add_argument('--op_graph', default=op_graphs.FAST,
                      choices=op_graphs.OP_GRAPHS)
  parser.add_argument('--inference_engine', default=inference_engine.AUTO,
                      choices=inference_engine.ENGINES,
                      help="test figures' engine, as test.py's option")
  parser.add_argument('--paired_with', default=None, choices=sorted(FIGURES),
                      help='time this figure too, interleaved (run_pair)')
  parser.add_argument('--paired_checkpoint', default=None,
                      help="--paired_with's shared weights")
  parser.add_argument('--serve', action='store_true',
                      help='time one run per "run" line on stdin, answering '
                      'on stdout (time_on_command); --repeats is unused')
  args = parser.parse_args(argv)
  if args.serve and args.paired_with:
    parser.error('--serve times one figure; it cannot take --paired_with')
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  threads = {'intra_op_threads': args.intra_op_threads,
             'inter_op_threads': args.inter_op_threads}
  if args.paired_with:
    result = run_pair(
        args.figure, args.paired_with, args.dataset_dir, args.warmup,
        args.repeats, args.checkpoint, args.paired_checkpoint, args.crop,
        args.batch, threads, args.op_graph, args.inference_engine)
  else:
    timer = None
    if args.serve:
      # The replies get stdout's descriptor to themselves; whatever else
      # writes to stdout (TensorFlow's C++ logs too) now goes to stderr.
      replies = os.fdopen(os.dup(1), 'w')
      os.dup2(2, 1)
      timer = functools.partial(time_on_command, warmup=args.warmup,
                                commands=sys.stdin, replies=replies)
    result = run_figure(
        args.figure, args.dataset_dir, args.warmup, args.repeats,
        args.checkpoint, args.crop, args.batch, threads, args.trace,
        args.op_graph, args.inference_engine, timer)
  with open(args.out, 'w') as f:
    json.dump(result, f)
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
