"""What validate.py has scored, so that a rerun continues instead of
starting over.

``val/val_scored.json`` keeps, per checkpoint file name, its mIoU, a digest
of its ``.index`` (which holds the checksum of every tensor, so a retrained
``model.ckpt-1000`` is not mistaken for the old one) and the settings it was
scored with: the options that decide a validation score and the size of each
TFRecord file of the split.  A checkpoint whose name, digest and settings
match is not scored again.  Options that change only the speed
(``inference_engine``, ``op_graph``, threads, XLA) or where outputs go are
left out: scores from either engine or op graph agree up to float rounding.
"""
import hashlib
import json
import os

from li_programs.config import config_schema as schema

SCORED_FILE = 'val_scored.json'

_NOT_SCORE_SETTINGS = frozenset((
    'snapshot_root', 'train_split', 'test_split', 'checkpoint_dir',
    'val_logdir', 'intra_op_threads', 'inter_op_threads', 'xla',
    'allow_growth', 'keep_all_checkpoints', 'eval_batch_size',
    'inference_engine', 'op_graph'))


def score_settings(cfg, split_files=()):
  """The options of ``cfg`` (a validate.py config) that decide a score,
  plus ``{file name: size}`` of the split's TFRecord files."""
  settings = {}
  for option in schema.OPTIONS:
    wanted = 'val' in option.sections or any(
        s in schema.COMMON_SECTIONS for s in option.sections)
    if wanted and option.name not in _NOT_SCORE_SETTINGS:
      settings[option.name] = getattr(cfg, option.name)
  settings['split_files'] = {os.path.basename(f): os.path.getsize(f)
                             for f in split_files}
  return json.loads(json.dumps(settings))  # as read back from the file


def index_digest(checkpoint_path):
  """SHA-1 of the checkpoint's ``.index`` file."""
  digest = hashlib.sha1()
  with open(checkpoint_path + '.index', 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


class ScoredCheckpoints(object):
  """The scores of ``val_dir/val_scored.json`` (an unreadable file counts
  as empty: those checkpoints are scored again)."""

  def __init__(self, val_dir, settings):
    self.path = os.path.join(val_dir, SCORED_FILE)
    self.settings = settings
    try:
      with open(self.path) as f:
        records = json.load(f)
    except (IOError, OSError, ValueError):
      records = {}
    self._records = records if isinstance(records, dict) else {}

  def score_of(self, checkpoint_path):
    """The mIoU recorded for this checkpoint with these settings, or None."""
    record = self._records.get(os.path.basename(checkpoint_path))
    if not isinstance(record, dict) or record.get('settings') != self.settings:
      return None
    try:
      if record.get('index_sha1') != index_digest(checkpoint_path):
        return None
    except (IOError, OSError):
      return None
    return record.get('miou')

  def add(self, checkpoint_path, miou, digest=None):
    """Records a score and rewrites the file (atomically).

    Args:
      digest: ``index_digest`` of the checkpoint as it was restored (taken
        now when None; a checkpoint deleted meanwhile is not recorded: there
        is nothing to skip later).
    """
    if digest is None:
      try:
        digest = index_digest(checkpoint_path)
      except (IOError, OSError):
        return
    self._records[os.path.basename(checkpoint_path)] = {
        'miou': float(miou), 'index_sha1': digest,
        'settings': self.settings}
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    tmp = '%s.%d.tmp' % (self.path, os.getpid())
    with open(tmp, 'w') as f:
      json.dump(self._records, f, indent=1, sort_keys=True)
    os.replace(tmp, self.path)
