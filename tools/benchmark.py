"""Cost of the shipped models on this machine: ``make bench``.

    python -m tools.benchmark [--quick] [--output bench/results.json]
    python -m tools.benchmark --compare_backends   (see tools/benchmark_backends.py)

Measures, each as the median of repeated timings after warm-up runs:

* training: seconds per step of train.py's train op (forward, loss,
  backward, momentum update, BatchNorm updates; built by
  ``train.build_train_ops``) for LI-MNV2 + LI-ASPP, LI-ResNet-50-beta +
  LI-ASPP + decoder and their non-LI baselines, at batch 4, fed (a) by
  ``libs.datasets.data_generator.Dataset`` reading TFRecords of a generated
  synthetic-shapes set and (b) by in-memory tensors.  Pipeline headroom =
  in-memory step time / records step time (1.0: the pipeline costs
  nothing; below 1: steps wait for data).
* evaluation: images per second through test.py's graph
  (``li_programs.evaluation.build_eval_graph``: records, batch 1, the shipped
  configs' eval crops).
* LI overhead: step-time ratio LI / baseline next to the FLOP ratio.
* efficiency: achieved GFLOP/s of each measurement against the dense matmul
  GFLOP/s this TensorFlow reaches on this machine.

FLOPs are those of tf.profiler on the frozen batch-1 eval graph
(``li_models.model_stats``).  A training step is *estimated* as
3 x forward FLOPs x batch (forward + two backward convolutions per forward
one); the JSON says so in ``flops_note``.

Only the pixels are synthetic: every graph is the one of its config
(classes, crops, rates, LI placement), with ``dataset_dir`` pointed at the
generated records and the initial checkpoint switched off.
"""
import argparse
import json
import os
import platform
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

from libs.core import tf_compat  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_VERSION = 1
TRAIN_FLOPS_FACTOR = 3.0
FLOPS_NOTE = ('eval_flops: tf.profiler float ops of the frozen batch-1 eval '
              'graph at the crop; train_flops_per_step: ESTIMATE = %g x eval '
              'FLOPs at the train crop x batch (backward ~ 2x forward)'
              % TRAIN_FLOPS_FACTOR)

# name -> (config file relative to the repo, extra flags, LI baseline name).
MODELS = {
    'li_mnv2_li_aspp': ('config/ADE20K/liMnv2_liAspp.ini', [],
                        'mnv2_aspp'),
    'mnv2_aspp': ('config/ADE20K/liMnv2_liAspp.ini',
                  ['--model_variant=mobilenet_v2', '--dpn_variant=aspp'],
                  None),
    'li_resnet50_li_aspp_dcd': ('config/ADE20K/liResnet50_liAspp_dcd.ini', [],
                                'resnet50beta_aspp_dcd'),
    'resnet50beta_aspp_dcd': ('config/ADE20K/liResnet50_liAspp_dcd.ini',
                              ['--model_variant=resnet_v1_50_beta',
                               '--dpn_variant=aspp'], None),
}
TRAIN_MODELS = ('li_mnv2_li_aspp', 'mnv2_aspp', 'li_resnet50_li_aspp_dcd',
                'resnet50beta_aspp_dcd')
# Shipped configs evaluated at their own eval crop; baselines use the flags
# of MODELS on the ADE20K configs.
SHIPPED_CONFIGS = (
    'config/ADE20K/liMnv2_liAspp.ini',
    'config/ADE20K/liResnet50_liAspp_dcd.ini',
    'config/PASCAL_VOC2012/liMnv2_liAspp.ini',
    'config/PASCAL_VOC2012/liResnet50_liAspp_dcd.ini',
    'config/CelebAMask_HQ/liMnv2_liAspp.ini',
    'config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
)
# The full run evaluates every (model, eval crop) pair of the shipped
# configs: ADE20K (MNV2 at 257, ResNet at 513) and PASCAL (MNV2 at 513);
# the CelebAMask-HQ graphs equal PASCAL's but for 19 instead of 21 classes
# (pass --eval_configs to time them too).
FULL_SHIPPED_CONFIGS = SHIPPED_CONFIGS[:4]
FEEDS = ('records', 'memory')

# Settings of a full and a --quick run (command-line flags override).  The
# quick run covers the MobileNetV2 pair only (LI overhead, headroom, eval
# images/s); ResNet-50 training steps take tens of seconds on 2 cores.
FULL = dict(train_crops=[257, 129], batch=4, eval_crop=None,
            train_warmup=1, train_repeats=3, eval_warmup=1, eval_repeats=3,
            shipped=list(FULL_SHIPPED_CONFIGS), eval_baselines=True,
            models=list(TRAIN_MODELS), matmul_size=2048, image_size=300,
            num_images=24)
QUICK = dict(train_crops=[129], batch=4, eval_crop=None, train_warmup=1,
             train_repeats=2, eval_warmup=1, eval_repeats=3,
             shipped=['config/ADE20K/liMnv2_liAspp.ini'],
             eval_baselines=True, models=['li_mnv2_li_aspp', 'mnv2_aspp'],
             matmul_size=1024, image_size=300, num_images=12)


class BenchmarkError(ValueError):
  """Bad benchmark arguments (one-line message)."""


# --------------------------------------------------------------------------
# Timing and machine information.

def time_calls(fn, warmup, repeats):
  """Runs ``fn`` ``warmup`` times untimed, then returns ``repeats`` timings."""
  if repeats < 1 or warmup < 0:
    raise BenchmarkError('repeats must be >= 1 and warmup >= 0, got %r, %r'
                         % (repeats, warmup))
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return times


def summarize(times):
  """Median, min, max and all timings (seconds)."""
  return {'median_s': statistics.median(times), 'min_s': min(times),
          'max_s': max(times), 'times_s': [round(t, 6) for t in times]}


def _cpu_info():
  info = {'model_name': platform.processor() or None, 'flags': []}
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        key = key.strip()
        if key == 'model name' and not info.get('model_name_proc'):
          info['model_name'] = value.strip()
          info['model_name_proc'] = True
        elif key == 'flags' and not info['flags']:
          flags = set(value.split())
          info['flags'] = sorted(f for f in ('sse4_2', 'avx', 'avx2', 'fma',
                                             'avx512f', 'avx512_vnni')
                                 if f in flags)
  except IOError:
    pass
  info.pop('model_name_proc', None)
  return info


def _memory_gib():
  try:
    with open('/proc/meminfo') as f:
      for line in f:
        if line.startswith('MemTotal:'):
          return round(int(line.split()[1]) / 1024.0 ** 2, 1)
  except IOError:
    pass
  return None


def machine_info():
  """Host, CPU and load (the load average matters: timings are wall time)."""
  from li_programs import session_config as sc
  info = _cpu_info()
  info.update({
      'hostname': platform.node(), 'platform': platform.platform(),
      'os_cpu_count': os.cpu_count(), 'usable_cpus': sc.available_cpus(),
      'memory_gib': _memory_gib(), 'python': platform.python_version()})
  return info


def tensorflow_info():
  """TF build facts: version, git, compiler, MKL/oneDNN, CUDA, XLA flags."""
  import tensorflow.compat.v1 as tf
  from li_programs import session_config as sc
  return {'version': tf.version.VERSION, 'git_version': tf.version.GIT_VERSION,
          'compiler': tf.version.COMPILER_VERSION,
          'mkl_enabled': sc.is_mkl_build(),
          'cuda_build': bool(tf.test.is_built_with_cuda()),
          'numpy': np.__version__,
          'package': _tf_distribution()}


def _tf_distribution():
  """Which wheel provides TensorFlow (tensorflow, intel-tensorflow, ...)."""
  try:
    import pkg_resources
  except ImportError:
    return None
  for name in ('intel-tensorflow', 'tensorflow-cpu', 'tensorflow-gpu',
               'tensorflow'):
    try:
      return '%s==%s' % (name, pkg_resources.get_distribution(name).version)
    except pkg_resources.DistributionNotFound:
      continue
  return None


def loadavg():
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return None


# --------------------------------------------------------------------------
# Data.

def make_bench_records(root, num_images, image_size, seed=0):
  """Generates synthetic-shapes train/val TFRecords under ``root``.

  The labels are classes 0-4 without the 255 ignore band, so they are valid
  for every benchmarked dataset (ADE20K's ignore label is 0 and 255 is no
  class of it; training rejects such labels).  Reuses an earlier set with
  the same parameters (a stamp file records them).  Returns the TFRecord
  folder.
  """
  from dataset_generation import build_voc2012_data
  from dataset_generation import make_synthetic_shapes
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


# --------------------------------------------------------------------------
# Configs.

def model_flags(name):
  if name not in MODELS:
    raise BenchmarkError('unknown model %r; allowed values: %s'
                         % (name, ', '.join(sorted(MODELS))))
  config, flags, _ = MODELS[name]
  return os.path.join(REPO_ROOT, config), list(flags)


def load_bench_config(config_file, mode, dataset_dir, extra_flags=(),
                      snapshot_root=None):
  """The config of ``mode`` with the data redirected to the bench records.

  The dataset (classes, ignore label) stays the config's; its split is
  ``train`` for training and ``val`` for evaluation, as generated.
  """
  from li_programs import config as config_lib
  flags = ['--dataset_dir=%s' % dataset_dir,
           '--snapshot_root=%s' % (snapshot_root or tempfile.gettempdir())]
  if mode == 'train':
    flags += ['--train_split=train', '--tf_initial_checkpoint=none',
              '--num_clones=1']
  else:
    flags += ['--test_split=val', '--val_split=val']
  return config_lib.load_config(config_file, mode, flags + list(extra_flags))


# --------------------------------------------------------------------------
# Graphs.

def in_memory_samples(batch, crop, num_classes, seed=0):
  """Image/label batch held in local variables (not constant-folded)."""
  import tensorflow.compat.v1 as tf
  rng = np.random.RandomState(seed)
  images = rng.uniform(0, 255, size=[batch, crop[0], crop[1], 3])
  labels = rng.randint(0, num_classes, size=[batch, crop[0], crop[1], 1])
  local = [tf.GraphKeys.LOCAL_VARIABLES]
  image_var = tf.Variable(images.astype(np.float32), trainable=False,
                          collections=local, name='bench_images')
  label_var = tf.Variable(labels.astype(np.int32), trainable=False,
                          collections=local, name='bench_labels')
  return {'image': tf.identity(image_var), 'label': tf.identity(label_var)}


def record_samples(cfg, batch, crop, seed=0):
  """Training batches from train.py's input pipeline (same arguments)."""
  import tensorflow.compat.v1 as tf
  from libs.datasets import data_generator
  from li_models import registry
  dataset = data_generator.Dataset(
      dataset_name=cfg.dataset, split_name=cfg.train_split,
      dataset_dir=cfg.dataset_dir, batch_size=batch, crop_size=crop,
      min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value, resize_factor=cfg.resize_factor,
      min_scale_factor=cfg.min_scale_factor,
      max_scale_factor=cfg.max_scale_factor,
      scale_factor_step_size=cfg.scale_factor_step_size,
      normalisation=registry.backbone(cfg.model_variant).normalisation,
      is_training=True, should_shuffle=True,
      should_repeat=True, seed=seed)
  with tf.device('/device:CPU:0'):
    return dataset.get_one_shot_iterator().get_next()


def build_train_step(cfg, seed=0):
  """A graph with train.py's train op, fed by records or in-memory tensors.

  Both feeds live in one graph (one model build instead of two): the boolean
  placeholder ``use_memory`` selects, through ``tf.cond``, the in-memory
  batch or the next batch of the records pipeline; only the selected branch
  runs, and the pipeline is not pulled while ``use_memory`` is True.

  Returns:
    dict with 'graph', 'train_op', 'total_loss', 'use_memory', 'init'.
  """
  import tensorflow.compat.v1 as tf
  from libs.datasets import data_generator
  from li_programs import training_graph
  descriptor = data_generator.get_descriptor(cfg.dataset)
  crop = list(cfg.train_crop_size)
  batch = cfg.train_batch_size
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(seed)
    use_memory = tf.placeholder_with_default(False, [], name='use_memory')
    memory = in_memory_samples(batch, crop, descriptor.num_classes, seed)
    iterator_next = record_samples(cfg, batch, crop, seed)
    image, label = tf.cond(
        use_memory, lambda: (memory['image'], memory['label']),
        lambda: (tf.identity(iterator_next['image']),
                 tf.identity(iterator_next['label'])))
    image.set_shape([batch] + crop + [3])
    label.set_shape([batch] + crop + [1])
    ops = training_graph.build_train_ops(
        cfg, {'image': image, 'label': label}, descriptor.num_classes,
        descriptor.ignore_label, train_dir=None)
    init = [tf.global_variables_initializer(),
            tf.local_variables_initializer()]
  return {'graph': graph, 'train_op': ops.train_op,
          'total_loss': ops.total_loss, 'use_memory': use_memory,
          'init': init}


def measure_train_step(cfg, warmup, repeats, session_kwargs):
  """Seconds per training step with each feed: {'records': .., 'memory': ..}.

  Records are timed first, from a cold pipeline, so prefetched batches do
  not hide a slow pipeline; the in-memory steps follow in the same session.
  """
  import tensorflow.compat.v1 as tf
  from li_programs import session_config as sc
  start = time.perf_counter()
  step = build_train_step(cfg)
  build_s = time.perf_counter() - start
  results = {'graph_build_s': round(build_s, 3)}
  with tf.Session(graph=step['graph'],
                  config=sc.session_config(**session_kwargs)) as sess:
    sess.run(step['init'])
    for feed in FEEDS:
      feed_dict = {step['use_memory']: feed == 'memory'}
      results[feed] = summarize(time_calls(
          lambda: sess.run(step['train_op'], feed_dict), warmup, repeats))
  return results


def measure_pipeline(cfg, warmup, repeats, session_kwargs):
  """Seconds per training batch of the input pipeline alone (no model)."""
  import tensorflow.compat.v1 as tf
  from li_programs import session_config as sc
  graph = tf.Graph()
  with graph.as_default():
    samples = record_samples(cfg, cfg.train_batch_size,
                             list(cfg.train_crop_size))
    fetch = [samples['image'], samples['label']]
  with tf.Session(graph=graph,
                  config=sc.session_config(**session_kwargs)) as sess:
    return summarize(time_calls(lambda: sess.run(fetch), warmup, repeats))


def measure_eval(cfg, warmup, repeats, session_kwargs):
  """Seconds per test image through test.py's graph (records, batch 1).

  Variables are freshly initialised (speed does not depend on the values).
  The iterator restarts when the split runs out.
  """
  import tensorflow.compat.v1 as tf
  from li_programs import evaluation
  from li_programs import session_config as sc
  graph = tf.Graph()
  with graph.as_default():
    eval_graph = evaluation.build_eval_graph(
        cfg, cfg.test_split, evaluation.eval_scales_of(cfg),
        cfg.add_flipped_images)
    init = [tf.global_variables_initializer(),
            tf.local_variables_initializer()]
  with tf.Session(graph=graph,
                  config=sc.session_config(**session_kwargs)) as sess:
    sess.run(init)
    sess.run(eval_graph.iterator.initializer)

    def run_one():
      try:
        sess.run(eval_graph.fetches)
      except tf.errors.OutOfRangeError:
        sess.run(eval_graph.iterator.initializer)
        sess.run(eval_graph.fetches)

    times = time_calls(run_one, warmup, repeats)
  return summarize(times)


def measure_matmul_gflops(size, repeats, session_kwargs):
  """Dense float32 ``size x size`` matmul GFLOP/s (median of repeats)."""
  import tensorflow.compat.v1 as tf
  from li_programs import session_config as sc
  graph = tf.Graph()
  with graph.as_default():
    init = tf.random_uniform_initializer(-1.0, 1.0, seed=0)
    a = tf.get_variable('a', [size, size], initializer=init)
    b = tf.get_variable('b', [size, size], initializer=init)
    product = tf.reduce_sum(tf.matmul(a, b))
  with tf.Session(graph=graph,
                  config=sc.session_config(**session_kwargs)) as sess:
    sess.run(tf.variables_initializer([a, b]))
    times = time_calls(lambda: sess.run(product), 2, repeats)
  result = summarize(times)
  result['size'] = size
  # A peak is what the machine can reach: use the fastest run.
  result['gflops'] = 2.0 * size ** 3 / result['min_s'] / 1e9
  result['gflops_median'] = 2.0 * size ** 3 / result['median_s'] / 1e9
  return result


_FLOPS_CACHE = {}


def eval_flops(cfg, crop):
  """(float ops, trainable params) of the batch-1 eval graph at ``crop``.

  Cached per model options and crop (a training config and a test config
  of the same model give the same eval graph).
  """
  from libs.datasets import data_generator
  from li_models import model_config
  from li_models import model_stats
  num_classes = data_generator.get_descriptor(cfg.dataset).num_classes
  options = model_config.model_options_from_config(cfg, num_classes, crop)
  key = (repr(options), tuple(crop))
  if key not in _FLOPS_CACHE:
    _FLOPS_CACHE[key] = model_stats.count_flops_and_params(options,
                                                           list(crop))
  return _FLOPS_CACHE[key]


# --------------------------------------------------------------------------
# The benchmark run.

def _log(message):
  sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), message))
  sys.stderr.flush()


def _ratio(a, b):
  return float(a) / float(b) if a and b else None


def run_training(settings, dataset_dir, session_kwargs, peak_gflops,
                 models=TRAIN_MODELS):
  """Training entries: one per (model, crop) with both feeds."""
  from libs.datasets import data_generator
  entries = []
  pipeline_cache = {}
  for crop in settings['train_crops']:
    for name in models:
      config_file, flags = model_flags(name)
      cfg = load_bench_config(
          config_file, 'train', dataset_dir,
          flags + ['--train_batch_size=%d' % settings['batch'],
                   '--train_crop_size=%d,%d' % (crop, crop)])
      entry = {'model': name, 'config': os.path.relpath(config_file,
                                                        REPO_ROOT),
               'extra_flags': flags, 'crop': [crop, crop],
               'batch': settings['batch'],
               'num_classes': data_generator.get_descriptor(
                   cfg.dataset).num_classes}
      _log('train %s crop %d' % (name, crop))
      entry.update(measure_train_step(cfg, settings['train_warmup'],
                                      settings['train_repeats'],
                                      session_kwargs))
      pipeline_key = (config_file, crop)
      if pipeline_key not in pipeline_cache:
        _log('input pipeline alone, crop %d' % crop)
        pipeline_cache[pipeline_key] = measure_pipeline(
            cfg, settings['train_warmup'], 2 * settings['train_repeats'],
            session_kwargs)
      entry['pipeline_only'] = pipeline_cache[pipeline_key]
      _log('FLOPs of %s at %d' % (name, crop))
      fwd_flops, params = eval_flops(cfg, [crop, crop])
      train_flops = TRAIN_FLOPS_FACTOR * fwd_flops * settings['batch']
      step_s = entry['memory']['median_s']
      entry.update({
          'forward_flops_per_image': fwd_flops, 'trainable_params': params,
          'train_flops_per_step_estimate': train_flops,
          'step_s_records': entry['records']['median_s'],
          'step_s_memory': step_s,
          'pipeline_headroom': _ratio(step_s, entry['records']['median_s']),
          'achieved_gflops': train_flops / step_s / 1e9,
      })
      entry['efficiency'] = _ratio(entry['achieved_gflops'], peak_gflops)
      entries.append(entry)
  return entries


def run_eval(settings, dataset_dir, session_kwargs, peak_gflops):
  """Eval entries: the shipped configs (and the ADE20K baselines)."""
  cases = [(config, []) for config in settings['shipped']]
  if settings['eval_baselines']:
    # The baseline of every LI model whose config is evaluated.
    for config, flags, baseline in MODELS.values():
      if baseline and not flags and config in settings['shipped']:
        cases.append(tuple(MODELS[baseline][:2]))
  crop_flags = []
  if settings.get('eval_crop'):
    crop = settings['eval_crop']
    crop_flags = ['--eval_crop_size=%d,%d' % (crop, crop),
                  '--min_resize_value=%d' % crop,
                  '--max_resize_value=%d' % crop]
  entries = []
  for config, flags in cases:
    config_file = os.path.join(REPO_ROOT, config)
    cfg = load_bench_config(config_file, 'test', dataset_dir,
                            flags + crop_flags)
    crop = list(cfg.eval_crop_size)
    _log('eval %s %s crop %s' % (config, ' '.join(flags), crop))
    timing = measure_eval(cfg, settings['eval_warmup'],
                          settings['eval_repeats'], session_kwargs)
    flops, params = eval_flops(cfg, crop)
    seconds = timing['median_s']
    entries.append({
        'config': config, 'extra_flags': flags, 'model': _model_name(cfg),
        'dataset': cfg.dataset, 'crop': crop,
        'eval_scales': list(cfg.eval_scales), 'timing': timing,
        'seconds_per_image': seconds, 'images_per_s': 1.0 / seconds,
        'eval_flops': flops, 'trainable_params': params,
        'achieved_gflops': flops / seconds / 1e9,
        'efficiency': _ratio(flops / seconds / 1e9, peak_gflops)})
  return entries


# (model_variant, dpn_variant, has decoder) -> model name in tables.
MODEL_SIGNATURES = {
    ('li_mobilenet_v2', 'li_aspp', False): 'li_mnv2_li_aspp',
    ('mobilenet_v2', 'aspp', False): 'mnv2_aspp',
    ('li_resnet_v1_50_beta', 'li_aspp', True): 'li_resnet50_li_aspp_dcd',
    ('resnet_v1_50_beta', 'aspp', True): 'resnet50beta_aspp_dcd',
}


def _model_name(cfg):
  signature = (cfg.model_variant, cfg.dpn_variant,
               bool(cfg.decoder_output_stride))
  return MODEL_SIGNATURES.get(signature, '%s+%s%s' % (
      cfg.model_variant, cfg.dpn_variant,
      '+decoder' if cfg.decoder_output_stride else ''))


def li_overhead(train_entries, eval_entries):
  """LI / baseline ratios of step time and FLOPs, per crop (and eval)."""
  rows = []
  by_key = {(e['model'], e['crop'][0]): e for e in train_entries}
  for (name, crop), entry in sorted(by_key.items()):
    baseline = MODELS[name][2]
    if baseline is None or (baseline, crop) not in by_key:
      continue
    base = by_key[(baseline, crop)]
    rows.append({
        'kind': 'train', 'li_model': name, 'baseline': baseline,
        'crop': [crop, crop],
        'time_ratio': _ratio(entry['step_s_memory'], base['step_s_memory']),
        'time_ratio_records': _ratio(entry['step_s_records'],
                                     base['step_s_records']),
        'flop_ratio': _ratio(entry['forward_flops_per_image'],
                             base['forward_flops_per_image'])})
  ade = {(e['config'], tuple(e['extra_flags'])): e for e in eval_entries}
  for name, (config, flags, baseline) in MODELS.items():
    if baseline is None:
      continue
    base_config, base_flags, _ = MODELS[baseline]
    li = ade.get((config, tuple(flags)))
    base = ade.get((base_config, tuple(base_flags)))
    if li and base:
      rows.append({
          'kind': 'eval', 'li_model': name, 'baseline': baseline,
          'crop': li['crop'],
          'time_ratio': _ratio(li['seconds_per_image'],
                               base['seconds_per_image']),
          'flop_ratio': _ratio(li['eval_flops'], base['eval_flops'])})
  return rows


def run_benchmark(settings, output, bench_dir, session_kwargs):
  """Runs everything and writes ``output``; returns the results dict."""
  started = time.time()
  load_before = loadavg()
  _log('data: %d images of %dx%d in %s' % (
      settings['num_images'], settings['image_size'], settings['image_size'],
      bench_dir))
  dataset_dir = make_bench_records(os.path.join(bench_dir, 'data'),
                                   settings['num_images'],
                                   settings['image_size'])
  _log('matmul %d' % settings['matmul_size'])
  matmul = measure_matmul_gflops(settings['matmul_size'], 7, session_kwargs)
  peak = matmul['gflops']
  train_entries = run_training(settings, dataset_dir, session_kwargs, peak,
                               settings['models'])
  eval_entries = run_eval(settings, dataset_dir, session_kwargs, peak)
  from li_programs import session_config as sc
  intra, inter = sc.default_threads()
  results = {
      'version': RESULTS_VERSION,
      'created': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
      'machine': machine_info(),
      'tensorflow': tensorflow_info(),
      'settings': dict(settings, **{
          'intra_op_threads': session_kwargs.get('intra_op_threads') or intra,
          'inter_op_threads': session_kwargs.get('inter_op_threads') or inter,
          'xla': bool(session_kwargs.get('xla')),
          'omp_env': {k: os.environ.get(k) for k in (
              'OMP_NUM_THREADS', 'KMP_BLOCKTIME', 'KMP_AFFINITY',
              'TF_XLA_FLAGS') if os.environ.get(k)},
          'data': 'synthetic_shapes JPEG/PNG TFRecords, %dx%d, config '
                  'dataset descriptors (classes) kept' % (
                      settings['image_size'], settings['image_size'])}),
      'loadavg_before': load_before, 'loadavg_after': loadavg(),
      'matmul': matmul, 'peak_gflops': peak,
      'flops_note': FLOPS_NOTE,
      'train': train_entries, 'eval': eval_entries,
      'li_overhead': li_overhead(train_entries, eval_entries),
      'wall_s': round(time.time() - started, 1),
  }
  out_dir = os.path.dirname(os.path.abspath(output))
  os.makedirs(out_dir, exist_ok=True)
  with open(output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  return results


# --------------------------------------------------------------------------
# Table.

def format_table(results):
  """Human-readable summary of a results dict."""
  lines = []
  m, t = results['machine'], results['tensorflow']
  s = results['settings']
  lines.append('Machine: %s, %d usable CPUs (%s); load %s -> %s' % (
      m.get('model_name'), m['usable_cpus'], ' '.join(m.get('flags', [])),
      results['loadavg_before'], results['loadavg_after']))
  lines.append('TensorFlow %s (%s), MKL %s; threads intra %s inter %s, '
               'xla %s' % (t['version'], t.get('package'), t['mkl_enabled'],
                           s['intra_op_threads'], s['inter_op_threads'],
                           s['xla']))
  lines.append('Dense matmul %d: %.1f GFLOP/s' % (
      results['matmul']['size'], results['peak_gflops']))
  lines.append('')
  lines.append('Training, batch %d (s/step, median)' % s['batch'])
  header = '%-26s %5s %9s %9s %8s %9s %10s %8s %6s' % (
      'model', 'crop', 'records', 'memory', 'headroom', 'pipe-only',
      'GFLOP/st', 'GFLOP/s', 'eff')
  lines.append(header)
  for e in results['train']:
    lines.append('%-26s %5d %9.3f %9.3f %8.3f %9.3f %10.1f %8.1f %6.1f%%' % (
        e['model'], e['crop'][0], e['step_s_records'], e['step_s_memory'],
        e['pipeline_headroom'], e['pipeline_only']['median_s'],
        e['train_flops_per_step_estimate'] / 1e9,
        e['achieved_gflops'], 100.0 * (e['efficiency'] or 0)))
  lines.append('')
  lines.append('Evaluation (test.py graph, batch 1)')
  lines.append('%-50s %5s %8s %8s %8s %8s %6s' % (
      'config', 'crop', 's/img', 'img/s', 'GFLOP', 'GFLOP/s', 'eff'))
  for e in results['eval']:
    name = e['config'] + ('' if not e['extra_flags'] else
                          ' [%s]' % e['model'])
    lines.append('%-50s %5d %8.3f %8.2f %8.2f %8.1f %6.1f%%' % (
        name[:50], e['crop'][0], e['seconds_per_image'], e['images_per_s'],
        e['eval_flops'] / 1e9, e['achieved_gflops'],
        100.0 * (e['efficiency'] or 0)))
  lines.append('')
  lines.append('LI overhead (LI / baseline)')
  lines.append('%-6s %-26s %5s %10s %10s' % ('kind', 'LI model', 'crop',
                                             'time', 'FLOPs'))
  for r in results['li_overhead']:
    lines.append('%-6s %-26s %5d %10.3f %10.3f' % (
        r['kind'], r['li_model'], r['crop'][0], r['time_ratio'],
        r['flop_ratio']))
  lines.append('')
  lines.append('(%s)' % results['flops_note'])
  lines.append('wall time %.0f s' % results['wall_s'])
  return '\n'.join(lines)


# --------------------------------------------------------------------------
# Command line.

def _positive_int(text):
  try:
    value = int(text)
  except ValueError:
    value = -1
  if value < 0:
    raise argparse.ArgumentTypeError('expected a non-negative integer, got %r'
                                     % text)
  return value


def _crop_list(text):
  try:
    crops = [int(t) for t in text.split(',') if t.strip()]
  except ValueError:
    crops = []
  if not crops or min(crops) < 17:
    raise argparse.ArgumentTypeError('expected comma-separated crops >= 17, '
                                     'got %r' % text)
  return crops


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='tools/benchmark.py',
      description='Training/evaluation cost of the shipped LI-Convs models.')
  parser.add_argument('--quick', action='store_true',
                      help='Crop 129 only, fewer repeats (< 5 minutes).')
  parser.add_argument('--output', default=os.path.join(REPO_ROOT, 'bench',
                                                       'results.json'))
  parser.add_argument('--bench_dir', default=os.path.join(REPO_ROOT, 'bench'),
                      help='Folder for the generated TFRecords.')
  parser.add_argument('--intra_op_threads', type=_positive_int, default=None)
  parser.add_argument('--inter_op_threads', type=_positive_int, default=None)
  parser.add_argument('--xla', action='store_true',
                      help='Run every graph with XLA JIT auto-clustering.')
  parser.add_argument('--train_crops', type=_crop_list, default=None,
                      help='Override the training crops, e.g. 257,129.')
  parser.add_argument('--batch', type=_positive_int, default=None)
  parser.add_argument('--repeats', type=_positive_int, default=None,
                      help='Timed runs per measurement.')
  parser.add_argument('--warmup', type=_positive_int, default=None)
  parser.add_argument('--models', default=None,
                      help='Comma-separated training models (%s).'
                      % ', '.join(TRAIN_MODELS))
  parser.add_argument('--eval_configs', default=None,
                      help='Comma-separated config files to evaluate '
                      '(default: the shipped configs).')
  parser.add_argument('--eval_crop', type=_crop_list, default=None,
                      help='Evaluate at this crop instead of the configs\' '
                      'eval crops (for tests).')
  parser.add_argument('--no_eval_baselines', action='store_true')
  parser.add_argument('--matmul_size', type=_positive_int, default=None)
  parser.add_argument('--num_images', type=_positive_int, default=None)
  parser.add_argument('--image_size', type=_positive_int, default=None)
  parser.add_argument('--compare_backends', action='store_true',
                      help='Compare outputs and speed of the CPU backends '
                      '(tools/benchmark_backends.py).')
  return parser.parse_args(argv)


def settings_from_args(args):
  settings = dict(QUICK if args.quick else FULL)
  settings['quick'] = bool(args.quick)
  if args.train_crops:
    settings['train_crops'] = args.train_crops
  if args.batch:
    settings['batch'] = args.batch
  if args.repeats:
    settings['train_repeats'] = settings['eval_repeats'] = args.repeats
  if args.warmup is not None:
    settings['train_warmup'] = settings['eval_warmup'] = args.warmup
  if args.models is not None:
    models = [m.strip() for m in args.models.split(',') if m.strip()]
    for m in models:
      model_flags(m)
    settings['models'] = models
  if args.eval_configs is not None:
    configs = [c.strip() for c in args.eval_configs.split(',') if c.strip()]
    for c in configs:
      if not os.path.isfile(os.path.join(REPO_ROOT, c)):
        raise BenchmarkError('--eval_configs: %s not found under %s'
                             % (c, REPO_ROOT))
    settings['shipped'] = configs
  if args.eval_crop:
    if len(args.eval_crop) != 1:
      raise BenchmarkError('--eval_crop takes one crop, got %s'
                           % args.eval_crop)
    settings['eval_crop'] = args.eval_crop[0]
  if args.no_eval_baselines:
    settings['eval_baselines'] = False
  for key in ('matmul_size', 'num_images', 'image_size'):
    if getattr(args, key):
      settings[key] = getattr(args, key)
  needed = max(settings['eval_warmup'] + settings['eval_repeats'],
               settings['batch'])
  if settings['num_images'] < needed:
    raise BenchmarkError('--num_images must be at least %d (warm-up + '
                         'repeats, batch), got %d'
                         % (needed, settings['num_images']))
  return settings


def main(argv=None):
  argv = sys.argv[1:] if argv is None else list(argv)
  try:
    if '--compare_backends' in argv:
      from tools import benchmark_backends
      return benchmark_backends.main(
          [a for a in argv if a != '--compare_backends'])
    args = parse_args(argv)
    settings = settings_from_args(args)
    session_kwargs = {'intra_op_threads': args.intra_op_threads,
                      'inter_op_threads': args.inter_op_threads,
                      'xla': args.xla}
    results = run_benchmark(settings, args.output, args.bench_dir,
                            session_kwargs)
  except Exception as err:  # noqa: BLE001 - user errors become one line
    from li_programs import config as config_lib
    from libs.datasets import data_generator
    if not isinstance(err, (BenchmarkError, config_lib.ConfigError,
                            data_generator.DatasetError, ValueError)) or \
        os.environ.get('LI_CONVS_DEBUG'):
      raise
    sys.stderr.write('benchmark: error: %s\n'
                     % (str(err).strip().splitlines() or [''])[0])
    return 2
  print(format_table(results))
  print('results written to %s' % args.output)
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
