"""Validates every checkpoint of a training run (SPEC section 5).

    python validate.py --config_file config/ADE20K/liMnv2_liAspp.ini

Evaluates each checkpoint listed in ``<snapshot_root>/<config_name>/train/
checkpoint`` on ``val_split`` and records its mIoU in ``val/`` (event file,
``val_result.mat``, ``val_result.txt``). Then, unless
``keep_all_checkpoints`` is set, deletes the files of every listed
checkpoint except the best and the last one; files not listed in the
checkpoint state are never touched.
"""

import os
import sys

import tensorflow.compat.v1 as tf

from li_utils import eval_utils
from li_utils import metrics
from li_utils import original_notes
from li_utils import run_folders
from li_utils import session_config
from libs.core import tf_compat
from libs.core import tf_compat


def _merge_previous(val_dir, paths, mious):
  """Keeps earlier records of checkpoints no longer listed (pruned ones),
  so val_result.mat stays the history of the whole run."""
  try:
    old_paths, old_mious = eval_utils.read_val_results(val_dir)
  except eval_utils.CheckpointError:
    return paths, mious
  merged = dict(zip(old_paths, old_mious))
  merged.update(zip(paths, mious))
  order = sorted(merged, key=lambda p: (eval_utils.global_step_of(p) or -1, p))
  return order, [merged[p] for p in order]


def main(argv):
  cfg = eval_utils.load_program_config('val', argv)
  original_notes.print_notes('validate.py', cfg)
  dirs = run_folders.program_dirs(cfg)
  checkpoints = eval_utils.list_checkpoints(dirs.train)
  if not checkpoints:
    raise eval_utils.CheckpointError(
        'no checkpoint listed in %s: train first'
        % os.path.join(dirs.train, 'checkpoint'))
  missing = [c for c in checkpoints if not eval_utils.checkpoint_exists(c)]
  if missing:
    raise eval_utils.CheckpointError(
        'checkpoint %s is listed in %s but its files are missing'
        % (missing[0], os.path.join(dirs.train, 'checkpoint')))

  eval_scales = eval_utils.eval_scales_of(cfg)
  os.makedirs(dirs.val, exist_ok=True)
  mious = []
  graph = tf.Graph()
  with graph.as_default():
    eval_graph = eval_utils.build_eval_graph(
        cfg, cfg.val_split, eval_scales, cfg.add_flipped_images)
    miou_value = tf.placeholder(tf.float32, [])
    miou_summary = tf.summary.scalar('miou', miou_value)
    writer = tf.summary.FileWriter(dirs.val)
    scored = metrics.num_scored_classes(eval_graph.num_classes,
                                        eval_graph.ignore_label)
    sess_config = session_config.session_config_from(cfg)
    with tf.Session(config=sess_config) as sess:
      for path in checkpoints:
        eval_utils.restore_checkpoint(sess, eval_graph.saver, path)
        hist, _, _ = eval_utils.run_evaluation(
            sess, eval_graph, desc=os.path.basename(path))
        miou = metrics.metrics_from_hist(hist, scored).miou
        mious.append(miou)
        step = eval_utils.global_step_of(path)
        writer.add_summary(sess.run(miou_summary, {miou_value: miou}),
                           step if step is not None else len(mious))
        writer.flush()
        print('%s mIoU: %.2f%%' % (path, 100.0 * miou))
        sys.stdout.flush()
    writer.close()

  all_paths, all_mious = _merge_previous(dirs.val, checkpoints, mious)
  eval_utils.write_val_results(dirs.val, all_paths, all_mious)
  index = eval_utils.best_index(mious)
  best = checkpoints[-1 if index is None else index]
  if index is not None:
    print('best: %s mIoU: %.2f%%' % (best, 100.0 * mious[index]))
  if not cfg.keep_all_checkpoints:
    deleted = eval_utils.prune_checkpoints(dirs.train, [best,
                                                        checkpoints[-1]])
    print('deleted %d checkpoint files, kept %s'
          % (len(deleted), ', '.join(sorted({os.path.basename(best),
                                             os.path.basename(
                                                 checkpoints[-1])}))))
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  tf_compat.use_graph_mode()
  sys.exit(eval_utils.run_program('validate.py', main, sys.argv[1:]))
