"""Validates every checkpoint of a training run.

    python validate.py --config_file config/ADE20K/liMnv2_liAspp.ini

Evaluates each checkpoint listed in ``<snapshot_root>/<config_name>/train/
checkpoint`` on ``val_split`` and records its mIoU in ``val/`` (event file,
``val_result.mat``, ``val_result.txt``), rewriting the records after every
checkpoint so that nothing scored is lost if a later one fails.  Records of
checkpoints scored by earlier runs stay in the files.

Then, unless ``keep_all_checkpoints`` is set, it deletes the files of every
listed, scored checkpoint except the best and the newest one -- but only
when no train.py is training into the folder (li_programs/training_marker):
TensorFlow's Saver rewrites the ``checkpoint`` state from its own list at
every save, so deleting a checkpoint a running trainer still lists would
leave the state naming files that are gone.  validate.py is therefore safe
to run at any time during training; run it once more after training to
prune.  Files not listed in the checkpoint state are never touched.

A listed checkpoint whose files are gone (deleted by the trainer's
``max_to_keep`` in the meantime) is skipped with a notice; a damaged one is
skipped with an error line and makes the exit status 1.
"""

import os
import sys

from li_programs import process  # before TensorFlow (see there)
import tensorflow.compat.v1 as tf

from li_programs import checkpoint_check
from li_programs import train_checkpoints
from li_programs import cli
from li_programs import evaluation
from li_programs import result_files
from li_programs import metrics
from li_programs import original_notes
from li_programs import run_folders
from li_programs import session_config
from li_programs import training_marker
from libs.core import tf_compat


def _note(message):
  print('note: %s' % message)
  sys.stdout.flush()


def _merge_previous(val_dir, paths, mious):
  """Keeps earlier records of checkpoints no longer listed (pruned ones),
  so val_result.mat stays the history of the whole run."""
  try:
    old_paths, old_mious = result_files.read_val_results(val_dir)
  except checkpoint_check.CheckpointError:
    return paths, mious
  merged = dict(zip(old_paths, old_mious))
  merged.update(zip(paths, mious))
  order = sorted(merged, key=lambda p: (
      train_checkpoints.global_step_of(p) or -1, p))
  return order, [merged[p] for p in order]


class ScoreRecorder(object):
  """Adds each score to ``val_result.mat`` / ``.txt`` (merged with the
  records of earlier runs) and to the event file as soon as it is known."""

  def __init__(self, val_dir, writer, summary_fn):
    self.val_dir = val_dir
    self.paths, self.mious = [], []
    self._writer = writer
    self._summary_fn = summary_fn

  def add(self, path, miou):
    self.paths.append(path)
    self.mious.append(miou)
    all_paths, all_mious = _merge_previous(self.val_dir, self.paths,
                                           self.mious)
    result_files.write_val_results(self.val_dir, all_paths, all_mious)
    step = train_checkpoints.global_step_of(path)
    self._writer.add_summary(self._summary_fn(miou),
                             step if step is not None else len(self.paths))
    self._writer.flush()


def _deleted_by_trainer(path, train_dir):
  """True when ``path`` is gone or going: the trainer's Saver drops a
  checkpoint from the ``checkpoint`` state before it deletes its files."""
  return (not train_checkpoints.checkpoint_exists(path) or
          path not in train_checkpoints.list_checkpoints(train_dir))


def _relisted(checkpoints, train_dir):
  """``checkpoints`` plus those listed now, oldest first."""
  now = train_checkpoints.list_checkpoints(train_dir)
  merged = list(checkpoints) + [p for p in now if p not in checkpoints]
  return sorted(merged, key=lambda p: (
      train_checkpoints.global_step_of(p) or -1))


def _evaluate_all(cfg, dirs, checkpoints, recorder_factory):
  """Scores every checkpoint that can be restored: ``checkpoints`` and
  those the train folder lists once the evaluation graph is built.

  Returns:
    ``(recorder, damaged)``: the ScoreRecorder and the
    ``(checkpoint, message)`` pairs of damaged checkpoints.
  """
  damaged = []
  graph = tf.Graph()
  with graph.as_default():
    eval_graph = evaluation.build_eval_graph(
        cfg, cfg.val_split, evaluation.eval_scales_of(cfg),
        cfg.add_flipped_images, program='validate.py')
    miou_value = tf.placeholder(tf.float32, [])
    miou_summary = tf.summary.scalar('miou', miou_value)
    writer = tf.summary.FileWriter(dirs.val)
    scored = metrics.num_scored_classes(eval_graph.num_classes,
                                        eval_graph.ignore_label)
    sess_config = session_config.session_config_from(cfg)
    with tf.Session(config=sess_config) as sess:
      recorder = recorder_factory(
          writer, lambda m: sess.run(miou_summary, {miou_value: m}))
      # Building the graph takes a while; a trainer may have saved newer
      # checkpoints (and dropped older ones) meanwhile.
      for path in _relisted(checkpoints, dirs.train):
        try:
          evaluation.restore_model(sess, eval_graph, path,
                                   config_file=cfg.config_file)
        except checkpoint_check.CheckpointMismatch:
          raise
        except checkpoint_check.CheckpointError as err:
          if _deleted_by_trainer(path, dirs.train):
            _note('%s was deleted before it could be evaluated (train.py '
                  'keeps max_to_keep checkpoints); skipped' % path)
            continue
          sys.stderr.write('validate.py: error: %s; skipped, the other '
                           'scores are kept\n' % err)
          sys.stderr.flush()
          damaged.append((path, str(err)))
          continue
        hist, _, _ = evaluation.run_evaluation(
            sess, eval_graph, desc=os.path.basename(path))
        miou = metrics.metrics_from_hist(hist, scored).miou
        recorder.add(path, miou)
        print('%s mIoU: %.2f%%' % (path, 100.0 * miou))
        sys.stdout.flush()
    writer.close()
  return recorder, damaged


def _prune(cfg, dirs, recorder, damaged):
  """Deletes scored checkpoints other than the best and the newest, when
  it is safe (see the module docstring)."""
  if cfg.keep_all_checkpoints:
    return
  trainer = training_marker.running_trainer(dirs.train)
  if trainer is not None:
    _note('train.py (%s) is still training into %s, so no checkpoint is '
          'deleted now; run validate.py again after training to prune'
          % (training_marker.describe(trainer), dirs.train))
    return
  if damaged:
    _note('no checkpoint deleted: %d could not be evaluated' % len(damaged))
    return
  listed = train_checkpoints.list_checkpoints(dirs.train)
  if not listed:
    return
  all_paths, all_mious = _merge_previous(dirs.val, recorder.paths,
                                         recorder.mious)
  scores = dict(zip(all_paths, all_mious))
  scored_listed = [p for p in listed if p in scores]
  index = result_files.best_index([scores[p] for p in scored_listed])
  keep = [listed[-1]]
  if index is not None:
    keep.append(scored_listed[index])
  # A checkpoint without a score (it appeared after the evaluation began)
  # is never deleted.
  keep += [p for p in listed if p not in scores]
  deleted = train_checkpoints.prune_checkpoints(dirs.train, keep)
  print('deleted %d checkpoint files, kept %s'
        % (len(deleted), ', '.join(sorted({os.path.basename(k)
                                           for k in keep}))))


def main(argv):
  cfg = cli.load_program_config('val', argv)
  original_notes.print_notes('validate.py', cfg)
  dirs = run_folders.program_dirs(cfg)
  state_file = os.path.join(dirs.train, 'checkpoint')
  listed = train_checkpoints.list_checkpoints(dirs.train)
  trainer = training_marker.running_trainer(dirs.train)
  if not listed:
    if trainer is not None:
      _note('no checkpoint listed in %s yet; train.py (%s) is still '
            'training: validate again later'
            % (state_file, training_marker.describe(trainer)))
      return 0
    raise checkpoint_check.CheckpointError(
        'no checkpoint listed in %s: train first' % state_file)
  usable = []
  for path in listed:
    if train_checkpoints.checkpoint_exists(path):
      usable.append(path)
    else:
      _note('%s is listed in %s but its files are missing; skipped'
            % (path, state_file))
  if not usable:
    raise checkpoint_check.CheckpointError(
        'none of the %d checkpoints listed in %s exists' % (len(listed),
                                                            state_file))

  os.makedirs(dirs.val, exist_ok=True)
  recorder, damaged = _evaluate_all(
      cfg, dirs, usable,
      lambda writer, fn: ScoreRecorder(dirs.val, writer, fn))
  if recorder.paths:
    index = result_files.best_index(recorder.mious)
    if index is not None:
      print('best: %s mIoU: %.2f%%' % (recorder.paths[index],
                                       100.0 * recorder.mious[index]))
  _prune(cfg, dirs, recorder, damaged)
  if damaged:
    sys.stderr.write('validate.py: error: %d checkpoint(s) could not be '
                     'evaluated: %s\n' % (len(damaged), ', '.join(
                         p for p, _ in damaged)))
    return 1
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  process.exit_now(cli.run_program('validate.py', main, sys.argv[1:]))
