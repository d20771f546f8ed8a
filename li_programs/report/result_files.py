"""Result files of validate.py and test.py and the best validated checkpoint.

``val_result.{mat,txt}`` (mIoU per checkpoint) and ``test_result.{mat,txt}``
(confusion matrix and metrics), written and read back.
"""
import os
import re

import numpy as np
import scipy.io

from li_programs.checkpoints import checkpoint_paths
from li_programs.checkpoints.checkpoint_check import CheckpointError
from li_programs.checkpoints.train_checkpoints import checkpoint_exists

VAL_RESULT_MAT = 'val_result.mat'
VAL_RESULT_TXT = 'val_result.txt'
TEST_RESULT_MAT = 'test_result.mat'
TEST_RESULT_TXT = 'test_result.txt'
FLOPS_PARAMS_TXT = 'model_flops_params.txt'
# This project's mIoU where it differs from the reported (the original's).
MIOU_OURS = 'miou_ours'


def _as_str_list(value):
  """Reads a list of strings back from what scipy.io.loadmat returns."""
  array = np.asarray(value)
  if array.dtype.kind in ('U', 'S'):
    return [str(s).strip() for s in array.ravel()]
  out = []
  for item in array.ravel():
    item = np.asarray(item)
    out.append(''.join(str(s) for s in item.ravel()).strip())
  return out


class ResultFileError(ValueError):
  """A result file that exists but cannot be read (one-line message)."""


def _replace_atomically(path, write):
  """Calls ``write(tmp_path)`` and renames the result over ``path``, so an
  interrupted write never leaves a half-written result file."""
  tmp = '%s.%d.tmp' % (path, os.getpid())
  try:
    write(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def _write_text(path, text):
  def write(tmp):
    with open(tmp, 'w') as f:
      f.write(text)
  _replace_atomically(path, write)


def _write_mat(path, record):
  # Given an open file, savemat writes to it whatever the name's suffix.
  def write(tmp):
    with open(tmp, 'wb') as f:
      scipy.io.savemat(f, record)
  _replace_atomically(path, write)


def best_index(mious):
  """Index of the highest mIoU (the first one on ties, as the original);
  None if all NaN."""
  mious = np.asarray(mious, dtype=np.float64).reshape(-1)
  if not mious.size or np.all(np.isnan(mious)):
    return None
  top = np.nanmax(mious)
  return int(np.flatnonzero(mious == top)[0])


def write_val_results(val_dir, checkpoint_paths, mious, mious_ours=None):
  """Writes ``val_result.mat`` (miou, ck_path) and ``val_result.txt``.

  ``mious_ours``: optional {path: this project's mIoU} where it differs
  from the reported (the original's) one (``metrics.reported_miou``);
  written beside it, and as ``miou_ours`` (NaN elsewhere) in the mat file.
  """
  os.makedirs(val_dir, exist_ok=True)
  mious = np.asarray(mious, dtype=np.float64).reshape(-1)
  paths = np.array([str(p) for p in checkpoint_paths], dtype=object)
  record = {'miou': mious, 'ck_path': paths}
  mious_ours = mious_ours or {}
  if mious_ours:
    record[MIOU_OURS] = np.array(
        [mious_ours.get(str(p), np.nan) for p in checkpoint_paths],
        dtype=np.float64)
  _write_mat(os.path.join(val_dir, VAL_RESULT_MAT), record)
  best = best_index(mious)
  lines = ['%s mIoU: %s\n' % (path, format_miou(miou,
                                                 mious_ours.get(str(path))))
           for path, miou in zip(checkpoint_paths, mious)]
  if best is not None:
    lines.append('best: %s mIoU: %.2f%%\n' % (checkpoint_paths[best],
                                              100.0 * mious[best]))
  _write_text(os.path.join(val_dir, VAL_RESULT_TXT), ''.join(lines))


def read_val_mious_ours(val_dir):
  """{path: this project's mIoU} recorded beside the reported one in
  ``val_result.mat`` (empty when none was)."""
  path = os.path.join(val_dir, VAL_RESULT_MAT)
  if not os.path.isfile(path):
    return {}
  data = scipy.io.loadmat(path)
  if MIOU_OURS not in data:
    return {}
  ours = np.asarray(data[MIOU_OURS], dtype=np.float64).reshape(-1)
  return {p: float(m) for p, m in zip(_as_str_list(data['ck_path']), ours)
          if not np.isnan(m)}


def read_val_results(val_dir):
  """Returns ``(checkpoint_paths, mious)`` from ``val_result.mat``."""
  path = os.path.join(val_dir, VAL_RESULT_MAT)
  if not os.path.isfile(path):
    raise CheckpointError('no validation results at %s: run validate.py '
                          'first or pass --checkpoint_path / '
                          '--checkpoint_name' % path)
  try:
    data = scipy.io.loadmat(path)
    mious = np.asarray(data['miou'], dtype=np.float64).reshape(-1)
    paths = _as_str_list(data['ck_path'])
  except Exception as err:  # scipy raises many kinds
    raise ResultFileError(
        '%s cannot be read (%s): restore it or move it away (validate.py '
        'writes a new one)' % (path, str(err).splitlines()[0] if str(err)
                               else type(err).__name__)) from err
  return paths, mious


def best_val_checkpoint(val_dir):
  """The checkpoint with the highest validation mIoU."""
  paths, mious = read_val_results(val_dir)
  if not paths or np.all(np.isnan(mious)):
    raise CheckpointError('%s lists no scored checkpoint'
                          % os.path.join(val_dir, VAL_RESULT_MAT))
  return paths[best_index(mious)]


def best_existing_val_checkpoint(val_dir, train_dir=None):
  """The best checkpoint recorded in ``val_result.mat`` whose files still
  exist (the trainer's ``max_to_keep`` may have deleted better ones).

  Args:
    train_dir: where the checkpoints are: a recorded checkpoint is looked
      up by its file name there (the run folder may have moved since it was
      scored); None uses the recorded paths.

  Returns:
    ``(path, miou, gone)``; ``gone`` lists ``(path, miou)`` of the recorded
    checkpoints that scored higher but no longer exist.

  Raises:
    CheckpointError: no results, or none of the scored checkpoints exists.
  """
  paths, mious = read_val_results(val_dir)
  if train_dir is not None:
    paths = [os.path.join(train_dir, os.path.basename(p)) for p in paths]
  order = sorted((i for i in range(len(paths)) if not np.isnan(mious[i])),
                 key=lambda i: (mious[i], -i), reverse=True)
  gone = []
  for i in order:
    if checkpoint_exists(paths[i]):
      return paths[i], float(mious[i]), gone
    gone.append((paths[i], float(mious[i])))
  raise CheckpointError(
      'none of the %d checkpoints scored in %s exists any more%s; validate '
      'the remaining ones or pass --checkpoint_path'
      % (len(order), os.path.join(val_dir, VAL_RESULT_MAT),
         ' in %s' % train_dir if train_dir else ''))


def resolve_test_checkpoint(cfg, dirs):
  """The checkpoint test.py evaluates: ``cfg.checkpoint_path`` (a prefix,
  one of its files or a folder: li_programs/checkpoints/checkpoint_paths), else
  ``cfg.checkpoint_name`` inside ``dirs.train``, else the best existing
  one scored in ``dirs.val`` (a note names better-scored ones that are
  gone).

  Returns:
    ``(path, best_val)``; ``best_val`` is True for the last choice.

  Raises:
    CheckpointError: the chosen checkpoint does not exist.
  """
  if cfg.checkpoint_path:
    path, how = checkpoint_paths.resolve(cfg.checkpoint_path)
    line = checkpoint_paths.describe(cfg.checkpoint_path, path, how)
    if line:
      print('note: %s' % line)
    return path, False
  if cfg.checkpoint_name:
    path = os.path.join(dirs.train, cfg.checkpoint_name)
    if not checkpoint_exists(path):
      raise CheckpointError('checkpoint_name %s: no checkpoint %s'
                            % (cfg.checkpoint_name, path))
    return path, False
  path, miou, gone = best_existing_val_checkpoint(dirs.val, dirs.train)
  if gone:
    print('note: %s scored higher on val (%.2f%%) but its files are gone; '
          'testing the best remaining one, %s (%.2f%%)'
          % (gone[0][0], 100.0 * gone[0][1], path, 100.0 * miou))
  return path, True


def write_test_results(out_dir, hist, seg_metrics, image_mious=None,
                       image_names=None, miou_ours=None):
  """Writes ``test_result.mat`` and ``test_result.txt``.

  Args:
    out_dir: the eval_scale_... folder (created).
    hist: total confusion matrix.
    seg_metrics: ``li_programs.evaluate.metrics.SegMetrics`` of ``hist``, its
      ``miou`` the reported one (``metrics.reported_miou``).
    image_mious, image_names: optional per-image mIoU and image names
      (``save_every_frame_miou``).
    miou_ours: this project's mIoU where it differs from the reported one
      (written beside it), else None.
  """
  os.makedirs(out_dir, exist_ok=True)
  record = {'hist_total': np.asarray(hist, dtype=np.float64),
            'miou': seg_metrics.miou, 'acc': seg_metrics.acc,
            'acc_cls': seg_metrics.acc_cls, 'fwavacc': seg_metrics.fwavacc}
  if miou_ours is not None:
    record[MIOU_OURS] = float(miou_ours)
  if image_mious is not None:
    record['test_mious'] = np.asarray(image_mious, dtype=np.float64)
    record['test_image_names'] = np.array([str(n) for n in image_names],
                                          dtype=object)
  _write_mat(os.path.join(out_dir, TEST_RESULT_MAT), record)
  _write_text(os.path.join(out_dir, TEST_RESULT_TXT),
              format_test_line(seg_metrics, miou_ours) + '\n')


def format_miou(miou, miou_ours=None):
  """``xx.xx%``, followed by this project's figure when ``miou_ours`` is
  given (see ``metrics.reported_miou``)."""
  text = '%.2f%%' % (100.0 * miou)
  if miou_ours is not None:
    text += (" (the original's computation; %.2f%% without its spare "
             'class)' % (100.0 * miou_ours))
  return text


def format_test_line(seg_metrics, miou_ours=None):
  line = 'mIoU: %.2f%%, acc: %.2f%%' % (100.0 * seg_metrics.miou,
                                        100.0 * seg_metrics.acc)
  if miou_ours is not None:
    line += (" (mIoU by the original's computation; %.2f%% without its "
             'spare class)' % (100.0 * miou_ours))
  return line


def write_flops_params(out_dir, float_ops, params):
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, FLOPS_PARAMS_TXT)
  with open(path, 'w') as f:
    f.write('FLOPs: %d\nparams: %d\n' % (float_ops, params))
  return path


def safe_image_name(name):
  """A file-system safe stem for plot names (no folders, no odd chars)."""
  if isinstance(name, bytes):
    name = name.decode('utf-8', 'replace')
  name = os.path.splitext(os.path.basename(str(name)))[0]
  name = re.sub(r'[^A-Za-z0-9._-]+', '_', name)
  return name or 'image'
