"""Scores a checkpoint's mIoU over the whole image and near object boundaries.

    python tools/boundary_miou.py \\
        --config_file config/demo/liMnv2_liAspp_shapes.ini \\
        [--boundary_width 5] [--checkpoint_path CK] [--output_dir DIR] \\
        [--key value ...]

The checkpoint is chosen as test.py chooses it: ``--checkpoint_path``, else
``checkpoint_name`` in the train folder, else the best on validation. The
split is the config's ``test_split``; every other ``--key value`` is a config
override, as for test.py. Results go to ``boundary_result.txt`` ("mIoU: ..,
acc: .., boundary mIoU (5 px): .., boundary acc (5 px): ..") and
``boundary_result.mat`` (``miou``, ``acc``, ``boundary_miou``,
``boundary_acc``, ``boundary_width``, ``hist_total``, ``hist_boundary``,
``ck_path``) in test.py's output folder of that checkpoint, or
``--output_dir``.
"""
import argparse
import os
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

import numpy as np
import scipy.io
from libs.core import quiet_tf  # filters TF's start-up noise
tf = quiet_tf.import_tensorflow()

from libs.core import tf_compat
from li_programs.evaluate import boundary_metrics
from li_programs.config import cli
from li_programs.evaluate import evaluation
from li_programs.report import result_files
from li_programs.runtime import run_folders
from li_programs.runtime import session_config


RESULT_TXT = 'boundary_result.txt'
RESULT_MAT = 'boundary_result.mat'


def format_line(whole, boundary, width):
  return ('mIoU: %.2f%%, acc: %.2f%%, boundary mIoU (%d px): %.2f%%, '
          'boundary acc (%d px): %.2f%%'
          % (100.0 * whole.miou, 100.0 * whole.acc, width,
             100.0 * boundary.miou, width, 100.0 * boundary.acc))


def write_results(out_dir, accumulator, checkpoint):
  """Writes boundary_result.{txt,mat}; returns the txt path."""
  os.makedirs(out_dir, exist_ok=True)
  whole = accumulator.metrics()
  boundary = accumulator.boundary_metrics()
  scipy.io.savemat(os.path.join(out_dir, RESULT_MAT), {
      'miou': whole.miou, 'acc': whole.acc,
      'boundary_miou': boundary.miou, 'boundary_acc': boundary.acc,
      'boundary_width': accumulator.width,
      'hist_total': accumulator.hist.astype(np.float64),
      'hist_boundary': accumulator.boundary_hist.astype(np.float64),
      'ck_path': str(checkpoint)})
  path = os.path.join(out_dir, RESULT_TXT)
  with open(path, 'w') as f:
    f.write(format_line(whole, boundary, accumulator.width) + '\n')
  return path


def evaluate(cfg, checkpoint, width):
  """Runs the test split through ``checkpoint``; returns the accumulator."""

  eval_scales = evaluation.eval_scales_of(cfg)
  graph = tf.Graph()
  with graph.as_default():
    eval_graph = evaluation.build_eval_graph(
        cfg, cfg.test_split, eval_scales, cfg.add_flipped_images,
        program='boundary_miou.py')
    accumulator = boundary_metrics.BoundaryAccumulator(
        eval_graph.num_classes, eval_graph.ignore_label, width)

    def on_sample(unused_index, out):
      # Score the image's own extent, not the padding up to the eval crop.
      image = out.get('original_image', out['image'])[0]
      height, width_px = image.shape[:2]
      accumulator.add(out['label'][0][:height, :width_px],
                      out['prediction'][0][:height, :width_px])

    with tf.Session(config=session_config.session_config_from(cfg)) as sess:
      evaluation.restore_model(sess, eval_graph, checkpoint)
      evaluation.run_evaluation(sess, eval_graph, desc='boundary',
                                on_sample=on_sample)
  return accumulator


def main(argv):
  parser = argparse.ArgumentParser(
      prog='boundary_miou.py', description=__doc__.split('\n')[0],
      epilog='Other --key value arguments override the config.')
  parser.add_argument('--config_file', required=True)
  parser.add_argument('--boundary_width', type=int,
                      default=boundary_metrics.DEFAULT_BOUNDARY_WIDTH,
                      help='band half-width in pixels (default %(default)s)')
  parser.add_argument('--output_dir', default=None,
                      help="default: test.py's folder of the checkpoint")
  args, rest = parser.parse_known_args(argv)
  if args.boundary_width < 0:
    raise cli.UsageError('--boundary_width must be >= 0, got %d'
                                % args.boundary_width)
  cfg = cli.load_program_config(
      'test', ['--config_file', args.config_file] + rest)
  dirs = run_folders.program_dirs(cfg)
  checkpoint, best_val = result_files.resolve_test_checkpoint(cfg, dirs)
  out_dir = (args.output_dir or cfg.test_resdir or run_folders.test_output_dir(
      dirs.test, checkpoint, evaluation.eval_scales_of(cfg), best_val))
  accumulator = evaluate(cfg, checkpoint, args.boundary_width)
  if not accumulator.num_images:
    raise ValueError('split %r of %s holds no images'
                     % (cfg.test_split, cfg.dataset_dir))
  path = write_results(out_dir, accumulator, checkpoint)
  print('%s: %s (%s)' % (checkpoint, format_line(
      accumulator.metrics(), accumulator.boundary_metrics(),
      accumulator.width), path))
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(cli.run_program('boundary_miou.py', main, sys.argv[1:]))
