"""Same graphs, different TensorFlow builds: outputs and speed side by side.

    python -m tools.benchmark_backends \
        [--other_python .venv-intel/bin/python] [--quick]

Each (backend, case) runs in its own subprocess (``--worker``) so that every
build gets a fresh process with its own runtime settings.  The first backend
(this interpreter's TensorFlow) is the reference: its worker initialises the
variables from a fixed seed and saves them to a checkpoint that every other
worker restores, and all workers feed the same numpy-seeded input, so the
graphs, weights and inputs are identical; only the kernels differ.

Cases: ``eval`` (``model.predict_labels`` at batch 1, compared on the
logits and labels) and ``train`` (train.py's train op at batch 4 on a fixed
in-memory batch, compared on the loss before and after one step).
Backends: this venv's ``tensorflow``, the same with XLA auto-clustering
(eval only), and ``--other_python`` (default ``.venv-intel/bin/python``,
intel-tensorflow) when it exists.  Results: ``bench/backends.json``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import numpy as np  # noqa: E402

import tensorflow.compat.v1 as tf  # noqa: E402

from li_models import model  # noqa: E402
from li_models import model_config  # noqa: E402
from li_programs import config as config_lib  # noqa: E402
from li_programs import session_config as sc  # noqa: E402
from li_programs import training_graph  # noqa: E402
from libs.core import tf_compat  # noqa: E402
from libs.datasets import data_generator  # noqa: E402
from tools import bench_workloads as wl  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELATIVE_TOLERANCE = 1e-4
DEFAULT_OTHER_PYTHON = os.path.join(REPO_ROOT, '.venv-intel', 'bin', 'python')

# Model name -> ADE20K config of the cases.
MODELS = {'li_mnv2_li_aspp': 'config/ADE20K/liMnv2_liAspp.ini',
          'li_resnet50_li_aspp_dcd': 'config/ADE20K/liResnet50_liAspp_dcd.ini'}
# (mode, model name of MODELS, crop, batch)
FULL_CASES = (
    ('eval', 'li_mnv2_li_aspp', 257, 1),
    ('eval', 'li_resnet50_li_aspp_dcd', 257, 1),
    ('eval', 'li_resnet50_li_aspp_dcd', 513, 1),
    ('train', 'li_mnv2_li_aspp', 257, 4),
    ('train', 'li_resnet50_li_aspp_dcd', 257, 4),
)
QUICK_CASES = (
    ('eval', 'li_mnv2_li_aspp', 257, 1),
    ('eval', 'li_resnet50_li_aspp_dcd', 129, 1),
    ('train', 'li_mnv2_li_aspp', 129, 4),
)
SEED = 1234


def case_id(mode, model, crop, batch):
  return '%s_%s_%d_b%d' % (mode, model, crop, batch)


# --------------------------------------------------------------------------
# Worker (runs under the backend being measured).

def _seeded_images(batch, crop):
  rng = np.random.RandomState(SEED)
  return rng.uniform(0, 255, size=[batch, crop, crop, 3]).astype(np.float32)


def _restore_or_create(sess, saver, init, checkpoint):
  """Restores the shared weights, or creates them (reference backend)."""
  sess.run(init)
  if os.path.isfile(checkpoint + '.index'):
    saver.restore(sess, checkpoint)
    return 'restored'
  saver.save(sess, checkpoint, write_meta_graph=False)
  return 'created'


def run_eval_worker(args, session_config, cfg_loader):
  cfg = cfg_loader('test', ['--eval_crop_size=%d,%d' % (args.crop,
                                                         args.crop)])
  num_classes = data_generator.get_descriptor(cfg.dataset).num_classes
  options = model_config.model_options_from_config(
      cfg, num_classes, [args.crop, args.crop])
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(SEED)
    images = tf.placeholder(tf.float32, [1, args.crop, args.crop, 3])
    logits = model.predict_logits(images, options)['semantic']
    labels = tf.argmax(logits, 3)
    init = tf.global_variables_initializer()
    saver = tf.train.Saver(tf.global_variables())
  feed = {images: _seeded_images(1, args.crop)}
  with tf.Session(graph=graph, config=session_config) as sess:
    weights = _restore_or_create(sess, saver, init, args.checkpoint)
    out_logits, out_labels = sess.run([logits, labels], feed)
    times = wl.time_calls(lambda: sess.run(labels, feed), args.warmup,
                                 args.repeats)
  np.savez(args.out + '.npz', logits=out_logits, labels=out_labels)
  return {'weights': weights, 'timing': wl.summarize(times)}


def _memory_train_step(cfg):
  """train.py's train op fed by one fixed in-memory batch (seeded pixels)."""
  descriptor = data_generator.get_descriptor(cfg.dataset)
  batch, crop = cfg.train_batch_size, list(cfg.train_crop_size)
  rng = np.random.RandomState(SEED)
  labels = rng.randint(0, 5, size=[batch] + crop + [1]).astype(np.int32)
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(SEED)
    local = [tf.GraphKeys.LOCAL_VARIABLES]  # variables: not constant-folded
    image = tf.Variable(_seeded_images(batch, crop[0]), trainable=False,
                        collections=local, name='bench_images')
    label = tf.Variable(labels, trainable=False, collections=local,
                        name='bench_labels')
    ops = training_graph.build_train_ops(
        cfg, {'image': tf.identity(image), 'label': tf.identity(label)},
        descriptor.num_classes, descriptor.ignore_label, train_dir=None)
    init = [tf.global_variables_initializer(),
            tf.local_variables_initializer()]
    saver = tf.train.Saver(tf.global_variables())
  return graph, ops, init, saver


def run_train_worker(args, session_config, cfg_loader):
  cfg = cfg_loader('train', ['--train_batch_size=%d' % args.batch,
                             '--train_crop_size=%d,%d' % (args.crop,
                                                          args.crop)])
  graph, ops, init, saver = _memory_train_step(cfg)
  with tf.Session(graph=graph, config=session_config) as sess:
    weights = _restore_or_create(sess, saver, init, args.checkpoint)
    loss_before = float(sess.run(ops.total_loss))
    sess.run(ops.train_op)
    loss_after = float(sess.run(ops.total_loss))
    times = wl.time_calls(lambda: sess.run(ops.train_op), args.warmup,
                          args.repeats)
  np.savez(args.out + '.npz', losses=np.array([loss_before, loss_after]))
  return {'weights': weights, 'timing': wl.summarize(times)}


def worker_main(args):
  session_config = sc.session_config(
      intra_op_threads=args.intra_op_threads,
      inter_op_threads=args.inter_op_threads, xla=args.xla)
  config_file = os.path.join(REPO_ROOT, MODELS[args.model])

  def cfg_loader(mode, extra):
    flags = ['--dataset_dir=%s' % args.dataset_dir,
             '--snapshot_root=%s' % tempfile.gettempdir()]
    if mode == 'train':
      flags += ['--train_split=train', '--tf_initial_checkpoint=none',
                '--num_clones=1']
    else:
      flags += ['--test_split=val', '--val_split=val']
    return config_lib.load_config(config_file, mode, flags + extra)

  runner = run_eval_worker if args.mode == 'eval' else run_train_worker
  result = runner(args, session_config, cfg_loader)
  result['tensorflow'] = wl.tensorflow_info()
  result['omp_env'] = {k: v for k, v in os.environ.items()
                       if k.startswith(('OMP_', 'KMP_', 'TF_XLA'))}
  with open(args.out + '.json', 'w') as f:
    json.dump(result, f)
  return 0


def relative_difference(reference, other):
  """max |a - b| / max |a| (0 when both are all zeros)."""
  reference = np.asarray(reference, dtype=np.float64)
  other = np.asarray(other, dtype=np.float64)
  if reference.shape != other.shape:
    raise ValueError('output shapes differ: %s vs %s'
                     % (reference.shape, other.shape))
  scale = np.max(np.abs(reference))
  diff = np.max(np.abs(reference - other)) if reference.size else 0.0
  return float(diff / scale) if scale > 0 else float(diff)


def compare_outputs(mode, reference_npz, other_npz):
  ref, other = np.load(reference_npz), np.load(other_npz)
  if mode == 'eval':
    rel = relative_difference(ref['logits'], other['logits'])
    agreement = float(np.mean(ref['labels'] == other['labels']))
    return {'relative_difference': rel, 'label_agreement': agreement,
            'within_tolerance': rel <= RELATIVE_TOLERANCE}
  rel = max(relative_difference(ref['losses'][i:i + 1],
                                other['losses'][i:i + 1]) for i in range(2))
  return {'relative_difference': rel,
          'losses_reference': ref['losses'].tolist(),
          'losses': other['losses'].tolist(),
          'within_tolerance': rel <= RELATIVE_TOLERANCE}


def _run_worker(python, case, work_dir, dataset_dir, xla, warmup, repeats,
                out, timeout, threads=(None, None)):
  mode, model, crop, batch = case
  cmd = [python, '-m', 'tools.benchmark_backends', '--worker',
         '--mode', mode, '--model', model, '--crop', str(crop),
         '--batch', str(batch), '--dataset_dir', dataset_dir,
         '--checkpoint', os.path.join(work_dir, case_id(*case) + '.ckpt'),
         '--warmup', str(warmup), '--repeats', str(repeats), '--out', out]
  if xla:
    cmd.append('--xla')
  for flag, value in zip(('--intra_op_threads', '--inter_op_threads'),
                         threads):
    if value is not None:
      cmd += [flag, str(value)]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  start = time.time()
  proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=timeout)
  if proc.returncode != 0:
    tail = proc.stderr.strip().splitlines()[-1:] or ['(no output)']
    raise RuntimeError('worker %s failed (%s): %s'
                       % (' '.join(cmd[3:9]), python, tail[0]))
  with open(out + '.json') as f:
    result = json.load(f)
  result['process_wall_s'] = round(time.time() - start, 1)
  return result


def backends_available(other_python):
  backends = [('tensorflow', sys.executable, False),
              ('tensorflow+xla', sys.executable, True)]
  if other_python and os.path.exists(other_python):
    backends.append((_backend_name(other_python), other_python, False))
  return backends


def _backend_name(python):
  """The TensorFlow distribution installed for ``python``."""
  script = ('import pkg_resources as p\n'
            'for n in ("intel-tensorflow", "tensorflow-cpu", "tensorflow"):\n'
            '  try:\n    p.get_distribution(n); print(n); break\n'
            '  except p.DistributionNotFound: pass')
  try:
    out = subprocess.run([python, '-c', script], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True,
                         timeout=60)
    return out.stdout.strip() or os.path.basename(python)
  except (OSError, subprocess.SubprocessError):
    return os.path.basename(python)


def compare(cases, backends, work_dir, dataset_dir, warmup, repeats,
            timeout=900, threads=(None, None)):
  """Runs every case under every backend; returns result rows."""
  os.makedirs(work_dir, exist_ok=True)
  for name in os.listdir(work_dir):  # fresh shared weights every run
    if '.ckpt' in name or name == 'checkpoint':
      os.remove(os.path.join(work_dir, name))
  rows = []
  for case in cases:
    reference = None
    for backend, python, xla in backends:
      if xla and case[0] == 'train':
        continue  # XLA needs > 8 minutes to compile a training step here
      out = os.path.join(work_dir, '%s__%s' % (case_id(*case),
                                               backend.replace('+', '_')))
      wl.log('%s under %s' % (case_id(*case), backend))
      result = _run_worker(python, case, work_dir, dataset_dir, xla, warmup,
                           repeats, out, timeout, threads)
      row = {'case': case_id(*case), 'mode': case[0], 'model': case[1],
             'crop': case[2], 'batch': case[3], 'backend': backend,
             'python': python, 'xla': xla, 'timing': result['timing'],
             'seconds': result['timing']['median_s'],
             'weights': result['weights'],
             'tensorflow': result['tensorflow'],
             'omp_env': result['omp_env']}
      if reference is None:
        reference = (out, row)
        row.update({'relative_difference': 0.0, 'within_tolerance': True,
                    'speedup_vs_reference': 1.0})
      else:
        row.update(compare_outputs(case[0], reference[0] + '.npz',
                                   out + '.npz'))
        row['speedup_vs_reference'] = (reference[1]['seconds'] /
                                       row['seconds'])
      rows.append(row)
  return rows


def format_table(rows):
  lines = ['%-42s %-18s %9s %8s %10s %6s' % (
      'case', 'backend', 's/run', 'speedup', 'rel.diff', 'ok')]
  for r in rows:
    lines.append('%-42s %-18s %9.3f %8.2f %10.2e %6s' % (
        r['case'], r['backend'], r['seconds'], r['speedup_vs_reference'],
        r['relative_difference'], 'yes' if r['within_tolerance'] else 'NO'))
  return '\n'.join(lines)


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='benchmark_backends',
      description='Compare TensorFlow CPU backends on the same graphs.')
  parser.add_argument('--worker', action='store_true',
                      help=argparse.SUPPRESS)
  parser.add_argument('--mode', choices=('eval', 'train'))
  parser.add_argument('--model')
  parser.add_argument('--crop', type=int)
  parser.add_argument('--batch', type=int, default=1)
  parser.add_argument('--checkpoint')
  parser.add_argument('--out')
  parser.add_argument('--xla', action='store_true')
  parser.add_argument('--intra_op_threads', type=int, default=None)
  parser.add_argument('--inter_op_threads', type=int, default=None)
  parser.add_argument('--dataset_dir')
  parser.add_argument('--other_python', default=DEFAULT_OTHER_PYTHON,
                      help='Interpreter of the other backend\'s venv.')
  parser.add_argument('--no_xla', action='store_true',
                      help='Skip the XLA runs.')
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--warmup', type=int, default=None)
  parser.add_argument('--repeats', type=int, default=None)
  parser.add_argument('--output', default=os.path.join(REPO_ROOT, 'bench',
                                                       'backends.json'))
  parser.add_argument('--bench_dir', default=os.path.join(REPO_ROOT,
                                                          'bench'))
  parser.add_argument('--cases', default=None,
                      help='Comma-separated mode:model:crop:batch cases.')
  return parser.parse_args(argv)


def _parse_cases(text):
  cases = []
  for item in text.split(','):
    parts = item.strip().split(':')
    if len(parts) != 4 or parts[0] not in ('eval', 'train'):
      raise wl.BenchmarkError(
          '--cases: expected mode:model:crop:batch with mode eval or train, '
          'got %r' % item)
    if parts[1] not in MODELS:
      raise wl.BenchmarkError('--cases: unknown model %r; allowed values: %s'
                              % (parts[1], ', '.join(sorted(MODELS))))
    cases.append((parts[0], parts[1], int(parts[2]), int(parts[3])))
  return tuple(cases)


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  if args.worker:
    return worker_main(args)
  cases = (_parse_cases(args.cases) if args.cases else
           QUICK_CASES if args.quick else FULL_CASES)
  warmup = 1 if args.warmup is None else args.warmup
  repeats = args.repeats or (3 if args.quick else 5)
  dataset_dir = wl.make_bench_records(
      os.path.join(args.bench_dir, 'data'), 12, 300)
  backends = backends_available(args.other_python)
  if args.no_xla:
    backends = [b for b in backends if not b[2]]
  if len(backends) < 2:
    raise wl.BenchmarkError('nothing to compare: no other backend')
  load_before = wl.loadavg()
  started = time.time()
  threads = (args.intra_op_threads, args.inter_op_threads)
  rows = compare(cases, backends, os.path.join(args.bench_dir, 'backends'),
                 dataset_dir, warmup, repeats, threads=threads)
  results = {'machine': wl.machine_info(),
             'loadavg_before': load_before,
             'loadavg_after': wl.loadavg(),
             'relative_tolerance': RELATIVE_TOLERANCE,
             'warmup': warmup, 'repeats': repeats,
             'threads': {'intra_op_threads': threads[0],
                         'inter_op_threads': threads[1]},
             'backends': [{'name': n, 'python': p, 'xla': x}
                          for n, p, x in backends],
             'rows': rows, 'wall_s': round(time.time() - started, 1)}
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  with open(args.output, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  print('load %s -> %s' % (results['loadavg_before'],
                           results['loadavg_after']))
  print(format_table(rows))
  print('results written to %s' % args.output)
  return 0 if all(r['within_tolerance'] for r in rows) else 1


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
