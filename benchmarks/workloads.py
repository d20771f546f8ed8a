"""The timed work of a benchmark figure, in this process.

``run_figure`` opens one figure (``benchmarks.figures``) -- its graph in a
session, weights loaded -- and times it; ``run_pair`` times an LI figure and
its baseline interleaved.  Weights come from a checkpoint the first worker
of a figure writes and every later worker restores, so all builds run the
same numbers.  ``benchmarks.worker`` runs these in a fresh process.
"""
import os
import platform
import tempfile
import time

import numpy as np
import tensorflow.compat.v1 as tf

from benchmarks import figures as figs
from benchmarks import timing
from libs.core import op_graphs
from li_programs.evaluate import evaluation
from li_programs.runtime import inference_engine
from li_programs.runtime import session_config as sc
from li_programs.train import training_graph
from libs.datasets import data_generator

SEED = 1234


def tensorflow_info():
  """Version and build facts of the TensorFlow this process imported."""
  return {'version': tf.version.VERSION, 'mkl_enabled': sc.is_mkl_build(),
          'cuda_build': bool(tf.test.is_built_with_cuda()),
          'python': platform.python_version()}


def gpu_peak_mib():
  """Peak memory TensorFlow's allocator took on the first GPU so far, MiB;
  None without a GPU (and under TensorFlow 1.15, which cannot tell)."""
  try:
    if not tf.config.experimental.list_physical_devices('GPU'):
      return None
    info = tf.config.experimental.get_memory_info('GPU:0')
    return round(info['peak'] / 2.0 ** 20, 1)
  except (AttributeError, ValueError, RuntimeError):
    return None


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
                                         descriptor.ignore_label,
                                         train_dir=None)
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
        cfg.add_flipped_images, engine=engine, program='benchmarks')
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
               engine=inference_engine.AUTO, flags=()):
    self.cfg = figs.figure_config(name, dataset_dir, crop, batch, op_graph,
                                  engine, threads, flags)
    self.mode = figs.FIGURES[name][0]
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
               timer=None, flags=()):
  """Times figure ``name`` in this process; returns the result dict.

  ``trace``: also profile the ops of two more runs (``op_profile``; not
  under the tflite engine, whose ops TensorFlow does not trace).
  ``timer``: ``fn(one_run) -> timings`` in place of ``timing.time_calls``
  with ``warmup`` and ``repeats`` (``--serve`` passes
  ``timing.time_on_command``).  ``flags``: more config options, as flags.
  The result's 'peak_rss_mib' is this process's peak resident memory;
  'conversion_peak_mib' that of the TF Lite conversion's process, if any.
  """
  figure = _OpenFigure(name, dataset_dir, checkpoint, crop, batch,
                       threads, op_graph, engine, flags)
  try:
    times = (timer(figure.one) if timer else
             timing.time_calls(figure.one, warmup, repeats))
    profile = figure.profile() if trace else None
  finally:
    figure.close()
  cfg, mode = figure.cfg, figure.mode
  crop = cfg.train_crop_size if mode == 'train' else cfg.eval_crop_size
  conversion = (figure.predictor.conversion_peak_mib if figure.predictor
                else None)
  return {'profile': profile, 'figure': name, 'mode': mode,
          'crop': list(crop),
          'batch': cfg.train_batch_size if mode == 'train' else 1,
          'timing': timing.summarize(times),
          'graph_build_s': round(figure.build_s, 3),
          'peak_rss_mib': round(timing.peak_rss_mib(), 1),
          'conversion_peak_mib': conversion,
          'gpu_peak_mib': gpu_peak_mib(),
          'weights': figure.weights, 'outputs': figure.outputs,
          'tensorflow': tensorflow_info(), 'op_graph': op_graph,
          'inference_engine': (None if mode == 'train' else
                               inference_engine.TFLITE if figure.predictor
                               else inference_engine.SESSION)}


def run_pair(name, baseline, dataset_dir, warmup, repeats, checkpoint=None,
             baseline_checkpoint=None, crop=None, batch=None,
             threads=None, op_graph=op_graphs.FAST,
             engine=inference_engine.AUTO, flags=()):
  """Times figure ``name`` and ``baseline`` interleaved in this process.

  The LI overhead is a few per cent; timed in separate processes minutes
  apart it drowned in the machine's drift (docs/performance.md).  Both
  graphs here are open at once and run in turn.

  Returns:
    dict with both timings and 'overhead' (median over median, minus 1).
  """
  figures = []
  try:
    for fig, ckpt in ((name, checkpoint), (baseline, baseline_checkpoint)):
      figures.append(_OpenFigure(fig, dataset_dir, ckpt, crop, batch,
                                 threads, op_graph, engine, flags))
    times = timing.time_interleaved([f.one for f in figures], warmup,
                                    repeats)
  finally:
    for figure in figures:
      figure.close()
  li, base = timing.summarize(times[0]), timing.summarize(times[1])
  return {'figure': name, 'baseline': baseline, 'timing': li,
          'baseline_timing': base,
          'overhead': li['median_s'] / base['median_s'] - 1.0,
          'peak_rss_mib': round(timing.peak_rss_mib(), 1),
          'tensorflow': tensorflow_info(), 'op_graph': op_graph}
