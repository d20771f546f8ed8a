"""Validates every checkpoint of a training run.

    python validate.py --config_file config/ADE20K/liMnv2_liAspp.ini

Evaluates each checkpoint of ``<snapshot_root>/<config_name>/train`` (those
its ``checkpoint`` state lists, read relative to the folder, and the
``model.ckpt-<step>`` ones present: with ``max_to_keep`` 0 or unset
TensorFlow lists only the newest) on ``val_split`` and records its mIoU in
``val/`` (event file, ``val_result.mat``, ``val_result.txt``,
``val_scored.json``; every metric and the per-class IoU in ``metrics.json``
and ``per_class_iou.csv``; the run in ``run.json``), rewriting the records
after every checkpoint so that nothing scored is lost if a later one fails.
Records of checkpoints scored by earlier runs stay in the files, and a
checkpoint an earlier run scored with the same settings is not scored again
(li_programs/evaluate/val_records), so a run stopped by SIGTERM or Ctrl-C (it
says what it kept) continues where it stopped.

Then, unless ``keep_all_checkpoints`` is set, it deletes the files of every
listed, scored checkpoint except the best and the newest one -- but only
when no train.py is training into the folder
(li_programs/train/training_marker): TensorFlow's Saver rewrites the
``checkpoint`` state from its own list at every save, so deleting a
checkpoint a running trainer still lists would leave the state naming files
that are gone.  validate.py is therefore safe to run at any time during
training; run it once more after training to prune.  Only checkpoint files
in the train folder are ever deleted.

A checkpoint whose files are gone (deleted by the trainer's
``max_to_keep`` in the meantime) is skipped with a notice; a damaged one is
skipped with an error line and makes the exit status 1.
"""

import collections
import os
import sys

from libs.core import quiet_tf  # filters TensorFlow's start-up noise
tf = quiet_tf.import_tensorflow()

from libs.datasets import data_generator
from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import train_checkpoints
from li_programs.config import cli
from li_programs.config import dataset_info
from li_programs.evaluate import evaluation
from li_programs.report import pyplot
from li_programs.report import result_files
from li_programs.report import result_tables
from li_programs.runtime import run_record
from li_programs.evaluate import metrics
from li_programs.config import original_notes
from li_programs.runtime import run_folders
from li_programs.runtime import session_config
from li_programs.train import train_loop
from li_programs.train import training_marker
from li_programs.evaluate import val_records


PROGRAM = 'validate.py'


class ValidationInterrupted(Exception):
  """SIGINT/SIGTERM arrived; carries the signal."""

  def __init__(self, signum):
    super(ValidationInterrupted, self).__init__(signum)
    self.signum = signum


def _note(message):
  print('note: %s' % message)
  sys.stdout.flush()


def _merge_previous(val_dir, paths, mious):
  """Keeps earlier records of checkpoints no longer there (pruned ones),
  so val_result.mat stays the history of the whole run.  Records are
  matched by checkpoint file name (a moved folder records new paths)."""
  try:
    old_paths, old_mious = result_files.read_val_results(val_dir)
  except checkpoint_check.CheckpointError:
    # None yet.  An unreadable one stops validation (ResultFileError), so
    # it is never overwritten.
    old_paths, old_mious = [], []
  merged = collections.OrderedDict(
      (os.path.basename(p), (p, m)) for p, m in zip(old_paths, old_mious))
  merged.update((os.path.basename(p), (p, m)) for p, m in zip(paths, mious))
  order = sorted(merged.values(), key=lambda pm: (
      train_checkpoints.global_step_of(pm[0]) or -1, pm[0]))
  return [p for p, _ in order], [m for _, m in order]


class ScoreRecorder(object):
  """Adds each score to ``val_result.mat`` / ``.txt`` (merged with the
  records of earlier runs), ``val_scored.json`` and the event file as soon
  as it is known."""

  def __init__(self, val_dir, scored_store=None, tables=None):
    self.val_dir = val_dir
    self.paths, self.mious = [], []
    self.new = 0
    self._ours = result_files.read_val_mious_ours(val_dir)
    self._writer = self._summary_fn = None
    self._store = scored_store
    self._tables = tables  # result_tables.ValTables

  def attach(self, writer, summary_fn):
    """The event file and ``fn(miou) -> summary`` of the evaluation."""
    self._writer, self._summary_fn = writer, summary_fn

  def keep(self, path, miou):
    """A score an earlier run recorded with the same settings."""
    self.paths.append(path)
    self.mious.append(miou)

  def add(self, path, miou, digest=None, miou_ours=None, hist=None,
          seg_metrics=None, engine=None):
    """A new score; ``digest``: val_records.index_digest of the checkpoint
    as restored; ``miou_ours``: this project's mIoU where it differs from
    ``miou`` (``metrics.reported_miou``); ``hist``, ``seg_metrics``,
    ``engine`` go to the tables."""
    if self._tables is not None and hist is not None:
      self._tables.add(path, hist, seg_metrics, engine=engine)
    self.keep(path, miou)
    self.new += 1
    self._ours.pop(path, None)
    if miou_ours is not None:
      self._ours[path] = miou_ours
    all_paths, all_mious = _merge_previous(self.val_dir, self.paths,
                                           self.mious)
    result_files.write_val_results(self.val_dir, all_paths, all_mious,
                                   self._ours)
    if self._store is not None:
      self._store.add(path, miou, digest)
    step = train_checkpoints.global_step_of(path)
    self._writer.add_summary(self._summary_fn(miou),
                             step if step is not None else len(self.paths))
    self._writer.flush()


def _deleted_by_trainer(path, train_dir):
  """True when ``path`` is gone or going: the trainer's Saver drops a
  checkpoint from the ``checkpoint`` state before it deletes its files."""
  return (not train_checkpoints.checkpoint_exists(path) or
          path not in train_checkpoints.all_checkpoints(train_dir))


def _relisted(checkpoints, train_dir, skip=()):
  """``checkpoints`` plus those in the train folder now (but ``skip``),
  oldest first."""
  now = train_checkpoints.all_checkpoints(train_dir)
  merged = list(checkpoints) + [p for p in now
                                if p not in checkpoints and p not in skip]
  return sorted(merged, key=lambda p: (
      train_checkpoints.global_step_of(p) or -1))


def _evaluate_all(cfg, dirs, checkpoints, recorder, skip=(), stop=None):
  """Scores every checkpoint that can be restored: ``checkpoints`` and
  those the train folder holds once the evaluation graph is built (but
  ``skip``, already scored).

  Args:
    recorder: the ScoreRecorder each score goes to.
    stop: a SignalCatcher; once it caught a signal, the evaluation stops
      at the next image with ValidationInterrupted.

  Returns:
    The ``(checkpoint, message)`` pairs of damaged checkpoints.
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

    def check_stop(unused_index, unused_out):
      if stop is not None and stop.signum is not None:
        raise ValidationInterrupted(stop.signum)

    with tf.Session(config=sess_config) as sess:
      # The result figures need pyplot; it loads while the images run.
      pyplot.import_in_background()
      recorder.attach(
          writer, lambda m: sess.run(miou_summary, {miou_value: m}))
      # Building the graph takes a while; a trainer may have saved newer
      # checkpoints (and dropped older ones) meanwhile.
      for path in _relisted(checkpoints, dirs.train, skip):
        check_stop(None, None)
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
        try:
          digest = val_records.index_digest(path)  # of what was restored
        except (IOError, OSError):
          digest = None  # deleted by the trainer since: scored, not kept
        hist, _, _ = evaluation.run_evaluation(
            sess, eval_graph, desc=os.path.basename(path),
            on_sample=check_stop)
        seg_metrics = metrics.metrics_from_hist(hist, scored)
        # ADE20K: the original's mIoU (which picks the best), ours beside.
        reported = metrics.reported_miou(hist, eval_graph.ignore_label,
                                         seg_metrics.miou)
        if reported.original_crashes:
          _note(metrics.ORIGINAL_CRASH_NOTE[len('note: '):])
        recorder.add(path, reported.headline, digest, reported.ours, hist,
                     seg_metrics._replace(miou=reported.headline),
                     evaluation.engine_of(eval_graph))
        print('%s mIoU: %s' % (path, result_files.format_miou(
            reported.headline, reported.ours)))
        sys.stdout.flush()
    writer.close()
  return damaged


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
  present = [p for p in train_checkpoints.all_checkpoints(dirs.train)
             if train_checkpoints.checkpoint_exists(p)]
  if not present:
    return
  all_paths, all_mious = _merge_previous(dirs.val, recorder.paths,
                                         recorder.mious)
  scores = dict(zip((os.path.basename(p) for p in all_paths), all_mious))
  scored = [p for p in present if os.path.basename(p) in scores]
  index = result_files.best_index(
      [scores[os.path.basename(p)] for p in scored])
  keep = [present[-1]]
  if index is not None:
    keep.append(scored[index])
  # A checkpoint without a score (it appeared after the evaluation began)
  # is never deleted.
  keep += [p for p in present if p not in scored]
  deleted = train_checkpoints.prune_checkpoints(dirs.train, keep)
  print('deleted %d checkpoint files, kept %s'
        % (len(deleted), ', '.join(sorted({os.path.basename(k)
                                           for k in keep}))))


def _checkpoints_to_score(dirs):
  """The present checkpoints of the train folder; a CheckpointError when
  there is none (None while a trainer has not saved one yet)."""
  run_folders.check_folders(dirs)
  found = train_checkpoints.all_checkpoints(dirs.train)
  where = ('%s and no model.ckpt-*.index in %s' % (
      os.path.join(dirs.train, 'checkpoint'), dirs.train))
  if not found:
    trainer = training_marker.running_trainer(dirs.train)
    if trainer is not None:
      _note('no checkpoint listed in %s yet; train.py (%s) is still '
            'training: validate again later' % (
                where, training_marker.describe(trainer)))
      return None
    raise checkpoint_check.CheckpointError(
        'no checkpoint listed in %s: train first' % where)
  usable = []
  for path in found:
    if train_checkpoints.checkpoint_exists(path):
      usable.append(path)
    else:
      _note('%s is listed in %s but its files are missing; skipped'
            % (path, os.path.join(dirs.train, 'checkpoint')))
  if not usable:
    raise checkpoint_check.CheckpointError(
        'none of the %d checkpoints listed in %s exists' % (
            len(found), os.path.join(dirs.train, 'checkpoint')))
  return usable


def _interrupted(signum, recorder, dirs, left):
  print('validate.py: stopped by signal %d; %d checkpoint(s) scored by this '
        'run and %d earlier are kept in %s; run validate.py again to score '
        'the other %d' % (signum, recorder.new, len(recorder.paths) -
                          recorder.new, os.path.join(
                              dirs.val, result_files.VAL_RESULT_MAT), left))
  sys.stdout.flush()
  return 128 + signum


def main(argv):
  cfg = cli.load_program_config('val', argv)
  original_notes.print_notes('validate.py', cfg)
  dirs = run_folders.program_dirs(cfg)
  run_folders.check_folders(dirs)  # before run.json goes into dirs.val
  names = dataset_info.class_names_of(cfg)
  run_record.start('validate.py', dirs.val, cfg, argv)
  usable = _checkpoints_to_score(dirs)
  if usable is None:
    return 0
  files = data_generator.get_split_files(cfg.dataset_dir, cfg.val_split)
  store = val_records.ScoredCheckpoints(
      dirs.val, val_records.score_settings(cfg, files))
  descriptor = dataset_info.descriptor_of(cfg)
  tables = result_tables.ValTables(
      dirs.val, dataset_info.scored_classes(names, descriptor.ignore_label),
      program='validate.py', dataset=cfg.dataset, split=cfg.val_split,
      eval_scales=evaluation.eval_scales_of(cfg),
      add_flipped_images=cfg.add_flipped_images,
      inference_engine=cfg.inference_engine)
  recorder = ScoreRecorder(dirs.val, store, tables)
  done = []
  for path in usable:
    miou = store.score_of(path)
    if miou is not None:
      recorder.keep(path, miou)
      done.append(path)
  if done:
    names = [os.path.basename(p) for p in done]
    if len(names) > 4:
      names = names[:2] + ['...'] + names[-1:]
    _note('%d of %d checkpoint(s) were scored with these settings by an '
          'earlier run (%s): kept, not scored again (delete %s to score '
          'them anew)' % (len(done), len(usable), ', '.join(names),
                          store.path))
  todo = [p for p in usable if p not in done]
  damaged = []
  os.makedirs(dirs.val, exist_ok=True)
  if todo:
    with train_loop.SignalCatcher() as catcher:
      try:
        damaged = _evaluate_all(cfg, dirs, todo, recorder, skip=done,
                                stop=catcher)
      except ValidationInterrupted as stop:
        return _interrupted(stop.signum, recorder, dirs,
                            len(usable) - len(recorder.paths))
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


def run(argv=None):
  """The command line (``sys.argv[1:]`` when ``argv`` is None): ``main``
  with one-line errors; the exit status."""
  return cli.run_command_line(PROGRAM, main, argv)
