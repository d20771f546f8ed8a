"""Tests one checkpoint on ``test_split``.

    python test.py --config_file config/ADE20K/liMnv2_liAspp.ini

The checkpoint is ``checkpoint_path`` if given, else ``checkpoint_name``
inside ``<snapshot_root>/<config_name>/train``, else the best of the
checkpoints scored by validate.py that still exist (written to
``<name>(best_val)``). Results go to
``<snapshot_root>/<config_name>/test/<name>/eval_scale_<s1>_<s2>.../``:
``test_result.{mat,txt}``, ``metrics.json``, ``per_class_iou.csv``,
``confusion_matrix.png`` and ``run.json`` (FLOPs mode: ``run.json`` too).

With ``calculate_model_flops_and_params`` the eval graph is frozen at batch
1 and its float operations and trainable parameters are reported instead.
"""

import os

import numpy as np

from libs.core import quiet_tf  # filters TensorFlow's start-up noise
tf = quiet_tf.import_tensorflow()

from li_models import model_config
from li_models import model_stats
from li_programs.checkpoints import checkpoint_check
from li_programs.config import cli
from li_programs.config import dataset_info
from li_programs.evaluate import evaluation
from li_programs.evaluate import metrics
from li_programs.config import original_notes
from li_programs.report import plot_fn
from li_programs.report import pyplot
from li_programs.report import result_files
from li_programs.report import result_tables
from li_programs.runtime import run_record
from li_programs.runtime import run_folders
from li_programs.runtime import session_config


PROGRAM = 'test.py'


def report_flops_and_params(cfg, dirs, eval_scales, argv=()):
  num_classes = dataset_info.descriptor_of(cfg).num_classes
  crop = list(cfg.eval_crop_size)
  options = model_config.model_options_from_config(cfg, num_classes, crop)
  float_ops, params = model_stats.count_flops_and_params(options, crop)
  try:
    path, best_val = result_files.resolve_test_checkpoint(cfg, dirs)
    out_dir = run_folders.test_output_dir(dirs.test, path, eval_scales,
                                         best_val)
  except checkpoint_check.CheckpointError:
    out_dir = dirs.test
  out_dir = cfg.test_resdir or out_dir
  run_record.start('test.py', out_dir, cfg, argv)
  written = result_files.write_flops_params(out_dir, float_ops, params)
  print('FLOPs: %d, params: %d (crop %dx%d) -> %s'
        % (float_ops, params, crop[0], crop[1], written))
  return 0


def _plot_sampler(cfg, out_dir, num_samples, num_classes, ignore_label,
                  class_names):
  """Returns on_sample(index, out) saving plots of random samples."""
  count = min(max(cfg.num_plots_to_save or 0, 0), num_samples)
  if not count:
    return None
  chosen = set(np.random.RandomState(0).choice(num_samples, count,
                                               replace=False).tolist())
  plots_dir = os.path.join(out_dir, 'plots')

  def on_sample(index, out):
    if index not in chosen:
      return
    image = out.get('original_image', out['image'])[0]
    height, width = image.shape[:2]
    name = result_files.safe_image_name(out['image_name'][0])
    plot_fn.save_plot(os.path.join(plots_dir, name + '_plot.png'), image,
                      out['prediction'][0][:height, :width],
                      out['label'][0][:height, :width],
                      num_classes, ignore_label, title=name,
                      palette=dataset_info.palette_of(cfg),
                      class_names=class_names)

  return on_sample


def main(argv):
  cfg = cli.load_program_config('test', argv)
  original_notes.print_notes('test.py', cfg)
  dirs = run_folders.program_dirs(cfg)
  run_folders.check_folders(dirs)
  eval_scales = evaluation.eval_scales_of(cfg)
  if cfg.calculate_model_flops_and_params:
    return report_flops_and_params(cfg, dirs, eval_scales, argv)

  class_names = dataset_info.class_names_of(cfg)
  checkpoint, best_val = result_files.resolve_test_checkpoint(cfg, dirs)
  out_dir = cfg.test_resdir or run_folders.test_output_dir(
      dirs.test, checkpoint, eval_scales, best_val)
  run_record.start('test.py', out_dir, cfg, argv)
  graph = tf.Graph()
  with graph.as_default():
    eval_graph = evaluation.build_eval_graph(
        cfg, cfg.test_split, eval_scales, cfg.add_flipped_images,
        program='test.py')
    on_sample = _plot_sampler(cfg, out_dir, eval_graph.num_samples,
                              eval_graph.num_classes, eval_graph.ignore_label,
                              class_names)
    sess_config = session_config.session_config_from(cfg)
    with tf.Session(config=sess_config) as sess:
      # The result figures need pyplot; it loads while the images run.
      pyplot.import_in_background()
      evaluation.restore_model(sess, eval_graph, checkpoint,
                               config_file=cfg.config_file)
      hist, image_mious, names = evaluation.run_evaluation(
          sess, eval_graph, desc='test', per_image=cfg.save_every_frame_miou,
          on_sample=on_sample)
  scored = metrics.num_scored_classes(eval_graph.num_classes,
                                      eval_graph.ignore_label)
  seg_metrics = metrics.metrics_from_hist(hist, scored)
  # ADE20K: the original's mIoU as the headline, ours beside it.
  reported = metrics.reported_miou(hist, eval_graph.ignore_label,
                                   seg_metrics.miou)
  if reported.original_crashes:
    print(metrics.ORIGINAL_CRASH_NOTE)
  seg_metrics = seg_metrics._replace(miou=reported.headline)
  if cfg.save_every_frame_miou:
    result_files.write_test_results(out_dir, hist, seg_metrics, image_mious,
                                    names, miou_ours=reported.ours)
  else:
    result_files.write_test_results(out_dir, hist, seg_metrics,
                                    miou_ours=reported.ours)
  result_tables.write_test_report(
      out_dir, hist, seg_metrics, class_names, eval_graph.ignore_label,
      title='%s on %s: mIoU %.2f%%' % (os.path.basename(checkpoint),
                                       cfg.test_split, 100 * seg_metrics.miou),
      program='test.py', checkpoint=checkpoint,
      engine=evaluation.engine_of(eval_graph), dataset=cfg.dataset,
      split=cfg.test_split, num_images=eval_graph.num_samples,
      eval_scales=eval_scales, add_flipped_images=cfg.add_flipped_images)
  print('%s: %s (%s)' % (checkpoint, result_files.format_test_line(
      seg_metrics, reported.ours), out_dir))
  return 0


def run(argv=None):
  """The command line (``sys.argv[1:]`` when ``argv`` is None): ``main``
  with one-line errors; the exit status."""
  return cli.run_command_line(PROGRAM, main, argv)
