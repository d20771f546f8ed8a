"""Results a researcher can read: ``metrics.json`` and ``per_class_iou.csv``.

test.py writes, beside ``test_result.{mat,txt}``::

    metrics.json        mIoU, pixel accuracy, class accuracy, fwIoU, the
                        per-class IoU / accuracy / pixel counts with class
                        names, the checkpoint, the inference engine, ...
    per_class_iou.csv   label,name,iou,accuracy,gt_pixels,predicted_pixels

validate.py writes the same two files in its ``val/`` folder, one entry (and
one CSV column of IoUs) per scored checkpoint, merged with the entries of
earlier runs as ``val_result.mat`` is.  Undefined values (a class never
labelled nor predicted) are ``null`` in JSON and empty in the CSV.
"""
import csv
import json
import math
import os

import numpy as np

from li_programs.config import dataset_info
from li_programs.checkpoints import train_checkpoints

METRICS_JSON = 'metrics.json'
PER_CLASS_CSV = 'per_class_iou.csv'


def _number(value):
  """A float for JSON, None for NaN/inf."""
  value = float(value)
  return value if math.isfinite(value) else None


def _csv_number(value):
  return '' if value is None else '%.6f' % value


def per_class_rows(hist, seg_metrics, classes):
  """One dict per scored class.

  Args:
    hist: the confusion matrix (li_programs.evaluate.metrics).
    seg_metrics: its SegMetrics.
    classes: ``[(label value, name)]`` of the matrix's scored rows
      (li_programs.config.dataset_info.scored_classes).
  """
  hist = np.asarray(hist, dtype=np.float64)
  truth = hist.sum(axis=1)
  predicted = hist.sum(axis=0)
  rows = []
  for row, (label, name) in enumerate(classes):
    accuracy = hist[row, row] / truth[row] if truth[row] else float('nan')
    rows.append({'label': int(label), 'name': name,
                 'iou': _number(seg_metrics.iou[row]),
                 'accuracy': _number(accuracy),
                 'gt_pixels': int(truth[row]),
                 'predicted_pixels': int(predicted[row])})
  return rows


def summary(seg_metrics):
  return {'miou': _number(seg_metrics.miou),
          'pixel_accuracy': _number(seg_metrics.acc),
          'class_accuracy': _number(seg_metrics.acc_cls),
          'fw_iou': _number(seg_metrics.fwavacc)}


def _write_json(path, record):
  folder = os.path.dirname(path)
  os.makedirs(folder, exist_ok=True)
  temporary = path + '.tmp'
  with open(temporary, 'w') as f:
    json.dump(record, f, indent=2, allow_nan=False)
    f.write('\n')
  os.replace(temporary, path)


def write_test_tables(out_dir, hist, seg_metrics, classes, **context):
  """Writes test.py's ``metrics.json`` and ``per_class_iou.csv``.

  ``context`` (checkpoint, engine, dataset, split, ...) goes into the JSON
  record as given.  Returns the two paths.
  """
  rows = per_class_rows(hist, seg_metrics, classes)
  record = dict(context)
  record.update(summary(seg_metrics))
  record['per_class'] = rows
  json_path = os.path.join(out_dir, METRICS_JSON)
  _write_json(json_path, record)
  csv_path = os.path.join(out_dir, PER_CLASS_CSV)
  with open(csv_path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['label', 'name', 'iou', 'accuracy', 'gt_pixels',
                     'predicted_pixels'])
    for row in rows:
      writer.writerow([row['label'], row['name'], _csv_number(row['iou']),
                       _csv_number(row['accuracy']), row['gt_pixels'],
                       row['predicted_pixels']])
  return json_path, csv_path


def confusion_axes(names, ignore_label):
  """``(row names, column names)`` of the confusion matrix: the scored
  classes, and with ignore label 0 a last column for predictions of label
  0 (li_programs.evaluate.metrics books them there)."""
  rows = [name for _, name in dataset_info.scored_classes(names,
                                                          ignore_label)]
  return rows, rows + ([names[0]] if ignore_label == 0 else [])


def write_test_report(out_dir, hist, seg_metrics, names, ignore_label,
                      title=None, **context):
  """``metrics.json``, ``per_class_iou.csv`` and ``confusion_matrix.png``
  of test.py; returns their paths."""
  from li_programs.report import confusion_plot
  json_path, csv_path = write_test_tables(
      out_dir, hist, seg_metrics,
      dataset_info.scored_classes(names, ignore_label), **context)
  rows, columns = confusion_axes(names, ignore_label)
  png = confusion_plot.save_confusion_png(
      os.path.join(out_dir, confusion_plot.CONFUSION_PNG), hist, rows,
      columns, title=title)
  return json_path, csv_path, png


def _checkpoint_order(entry):
  step = entry.get('global_step')
  return (-1 if step is None else step, entry['checkpoint'])


class ValTables(object):
  """validate.py's tables: an entry per checkpoint, rewritten after each.

  Entries of checkpoints scored by earlier runs stay (read back from
  ``metrics.json``) unless scored again.
  """

  def __init__(self, val_dir, classes, **context):
    self.val_dir = val_dir
    self.classes = classes
    self.context = context
    self.entries = {}
    try:
      with open(os.path.join(val_dir, METRICS_JSON)) as f:
        for entry in json.load(f).get('checkpoints', []):
          self.entries[entry['checkpoint']] = entry
    except (IOError, OSError, ValueError, KeyError, TypeError,
            AttributeError):
      pass  # none yet, or unreadable: start afresh

  def add(self, checkpoint, hist, seg_metrics, engine=None):
    entry = {'checkpoint': checkpoint,
             'global_step': train_checkpoints.global_step_of(checkpoint),
             'engine': engine}
    entry.update(summary(seg_metrics))
    entry['per_class'] = per_class_rows(hist, seg_metrics, self.classes)
    self.entries[checkpoint] = entry
    self.write()

  def write(self):
    entries = sorted(self.entries.values(), key=_checkpoint_order)
    record = dict(self.context)
    scored = [e for e in entries if e.get('miou') is not None]
    if scored:
      # The first on ties, as result_files.best_index (the original).
      best = max(scored, key=lambda e: e['miou'])
      record['best'] = {'checkpoint': best['checkpoint'],
                        'global_step': best['global_step'],
                        'miou': best['miou']}
    record['checkpoints'] = entries
    _write_json(os.path.join(self.val_dir, METRICS_JSON), record)
    with open(os.path.join(self.val_dir, PER_CLASS_CSV), 'w',
              newline='') as f:
      writer = csv.writer(f)
      writer.writerow(['label', 'name'] + [
          os.path.basename(e['checkpoint']) for e in entries])
      ious = [{row['label']: row['iou'] for row in e.get('per_class', [])}
              for e in entries]
      for label, name in self.classes:
        writer.writerow([label, name] + [_csv_number(i.get(label))
                                         for i in ious])
