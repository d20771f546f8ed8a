"""Output layout, result files and checkpoint bookkeeping (SPEC section 4).

Layout under ``<snapshot_root>/<config_name>``::

    train/                       checkpoints and event files
    val/val_result.mat           miou (per checkpoint), ck_path
    val/val_result.txt
    test/<ckpt>[(best_val)]/eval_scale_<s1>_<s2>.../
        test_result.txt          "mIoU: xx.xx%, acc: xx.xx%"
        test_result.mat          hist_total, miou, acc, acc_cls, fwavacc
                                 [, test_mious, test_image_names]
        plots/<image>_plot.png
        model_flops_params.txt
"""

import collections
import glob
import os
import re
import sys

import numpy as np
import scipy.io


VAL_RESULT_MAT = 'val_result.mat'
VAL_RESULT_TXT = 'val_result.txt'
TEST_RESULT_MAT = 'test_result.mat'
TEST_RESULT_TXT = 'test_result.txt'
FLOPS_PARAMS_TXT = 'model_flops_params.txt'
BEST_VAL_SUFFIX = '(best_val)'

OutputDirs = collections.namedtuple('OutputDirs', ['root', 'train', 'val',
                                                   'test'])


# A checkpoint that cannot be used (one-line message).
from li_utils.checkpoint_check import CheckpointError  # noqa: E402,F401


def output_dirs(snapshot_root, config_name):
  """Returns the train/val/test folders of a config (not created)."""
  if not snapshot_root:
    raise ValueError('snapshot_root is not set (config [data] snapshot_root '
                     'or --snapshot_root)')
  root = os.path.join(os.path.abspath(snapshot_root), config_name)
  return OutputDirs(root, os.path.join(root, 'train'),
                    os.path.join(root, 'val'), os.path.join(root, 'test'))


def format_scale(scale):
  """1 -> '1.0', 0.75 -> '0.75' (Python's shortest float repr)."""
  return repr(float(scale))


def eval_scale_dirname(eval_scales):
  """Folder name of a test run: ``eval_scale_0.5_1.0_1.5``."""
  scales = list(eval_scales) if eval_scales else [1.0]
  return 'eval_scale_' + '_'.join(format_scale(s) for s in scales)


def test_output_dir(test_root, checkpoint_path, eval_scales, best_val=False):
  """``test/<checkpoint_name>[(best_val)]/eval_scale_...``."""
  name = os.path.basename(os.path.normpath(checkpoint_path))
  if best_val:
    name += BEST_VAL_SUFFIX
  return os.path.join(test_root, name, eval_scale_dirname(eval_scales))


# --------------------------------------------------------------------------
# Checkpoints.

def global_step_of(checkpoint_path):
  """Global step encoded in ``model.ckpt-<step>``; None if there is none."""
  match = re.search(r'-(\d+)$', os.path.basename(checkpoint_path))
  return int(match.group(1)) if match else None


def checkpoint_exists(checkpoint_path):
  return os.path.isfile(checkpoint_path + '.index')


def checkpoint_files(checkpoint_path):
  """The files making up one V2 checkpoint that exist on disk."""
  files = []
  for suffix in ('.index', '.meta'):
    if os.path.isfile(checkpoint_path + suffix):
      files.append(checkpoint_path + suffix)
  shard = '[0-9]' * 5
  data = glob.glob(glob.escape(checkpoint_path) +
                   '.data-%s-of-%s' % (shard, shard))
  return files + sorted(data)


def list_checkpoints(train_dir):
  """Checkpoint prefixes listed in ``train_dir/checkpoint``, oldest first.

  Relative entries are resolved against ``train_dir``. Returns [] when the
  folder has no checkpoint state.
  """
  import tensorflow.compat.v1 as tf
  if not os.path.isdir(train_dir):
    return []
  state = tf.train.get_checkpoint_state(train_dir)
  if state is None:
    return []
  paths = list(state.all_model_checkpoint_paths)
  if not paths and state.model_checkpoint_path:
    paths = [state.model_checkpoint_path]
  resolved = []
  for path in paths:
    if not os.path.isabs(path):
      path = os.path.join(train_dir, path)
    if path not in resolved:
      resolved.append(path)
  return resolved


def prune_checkpoints(train_dir, keep):
  """Deletes the listed checkpoints of ``train_dir`` that are not in ``keep``.

  Only checkpoints named in the folder's ``checkpoint`` state are touched;
  any other file is left alone. The state is rewritten to list the kept
  checkpoints, the newest of them as the latest.

  Returns:
    The list of deleted files.
  """
  import tensorflow.compat.v1 as tf
  listed = list_checkpoints(train_dir)
  keep = [os.path.abspath(k) for k in keep]
  deleted = []
  remaining = []
  for path in listed:
    if os.path.abspath(path) in keep:
      remaining.append(path)
      continue
    for name in checkpoint_files(path):
      os.remove(name)
      deleted.append(name)
  if remaining:
    remaining.sort(key=lambda p: (global_step_of(p) or -1))
    tf.train.update_checkpoint_state(
        train_dir, remaining[-1], all_model_checkpoint_paths=remaining)
  return deleted


# --------------------------------------------------------------------------
# Result files.

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


def best_index(mious):
  """Index of the highest mIoU (the latest one on ties); None if all NaN."""
  mious = np.asarray(mious, dtype=np.float64).reshape(-1)
  if not mious.size or np.all(np.isnan(mious)):
    return None
  top = np.nanmax(mious)
  return int(np.flatnonzero(mious == top)[-1])


def write_val_results(val_dir, checkpoint_paths, mious):
  """Writes ``val_result.mat`` (miou, ck_path) and ``val_result.txt``."""
  os.makedirs(val_dir, exist_ok=True)
  mious = np.asarray(mious, dtype=np.float64).reshape(-1)
  paths = np.array([str(p) for p in checkpoint_paths], dtype=object)
  scipy.io.savemat(os.path.join(val_dir, VAL_RESULT_MAT),
                   {'miou': mious, 'ck_path': paths})
  best = best_index(mious)
  with open(os.path.join(val_dir, VAL_RESULT_TXT), 'w') as f:
    for path, miou in zip(checkpoint_paths, mious):
      f.write('%s mIoU: %.2f%%\n' % (path, 100.0 * miou))
    if best is not None:
      f.write('best: %s mIoU: %.2f%%\n' % (checkpoint_paths[best],
                                           100.0 * mious[best]))


def read_val_results(val_dir):
  """Returns ``(checkpoint_paths, mious)`` from ``val_result.mat``."""
  path = os.path.join(val_dir, VAL_RESULT_MAT)
  if not os.path.isfile(path):
    raise CheckpointError('no validation results at %s: run validate.py '
                          'first or pass --checkpoint_path / '
                          '--checkpoint_name' % path)
  data = scipy.io.loadmat(path)
  mious = np.asarray(data['miou'], dtype=np.float64).reshape(-1)
  paths = _as_str_list(data['ck_path'])
  return paths, mious


def best_val_checkpoint(val_dir):
  """The checkpoint with the highest validation mIoU."""
  paths, mious = read_val_results(val_dir)
  if not paths or np.all(np.isnan(mious)):
    raise CheckpointError('%s lists no scored checkpoint'
                          % os.path.join(val_dir, VAL_RESULT_MAT))
  return paths[best_index(mious)]


def best_existing_val_checkpoint(val_dir):
  """The best checkpoint recorded in ``val_result.mat`` whose files still
  exist (the trainer's ``max_to_keep`` may have deleted better ones).

  Returns:
    ``(path, miou, gone)``; ``gone`` lists ``(path, miou)`` of the recorded
    checkpoints that scored higher but no longer exist.

  Raises:
    CheckpointError: no results, or none of the scored checkpoints exists.
  """
  paths, mious = read_val_results(val_dir)
  order = sorted((i for i in range(len(paths)) if not np.isnan(mious[i])),
                 key=lambda i: (mious[i], i), reverse=True)
  gone = []
  for i in order:
    if checkpoint_exists(paths[i]):
      return paths[i], float(mious[i]), gone
    gone.append((paths[i], float(mious[i])))
  raise CheckpointError(
      'none of the %d checkpoints scored in %s exists any more; validate '
      'the remaining ones or pass --checkpoint_path'
      % (len(order), os.path.join(val_dir, VAL_RESULT_MAT)))


def write_test_results(out_dir, hist, seg_metrics, image_mious=None,
                       image_names=None):
  """Writes ``test_result.mat`` and ``test_result.txt``.

  Args:
    out_dir: the eval_scale_... folder (created).
    hist: total confusion matrix.
    seg_metrics: ``li_utils.metrics.SegMetrics`` of ``hist``.
    image_mious, image_names: optional per-image mIoU and image names
      (``save_every_frame_miou``).
  """
  os.makedirs(out_dir, exist_ok=True)
  record = {'hist_total': np.asarray(hist, dtype=np.float64),
            'miou': seg_metrics.miou, 'acc': seg_metrics.acc,
            'acc_cls': seg_metrics.acc_cls, 'fwavacc': seg_metrics.fwavacc}
  if image_mious is not None:
    record['test_mious'] = np.asarray(image_mious, dtype=np.float64)
    record['test_image_names'] = np.array([str(n) for n in image_names],
                                          dtype=object)
  scipy.io.savemat(os.path.join(out_dir, TEST_RESULT_MAT), record)
  with open(os.path.join(out_dir, TEST_RESULT_TXT), 'w') as f:
    f.write(format_test_line(seg_metrics) + '\n')


def format_test_line(seg_metrics):
  return 'mIoU: %.2f%%, acc: %.2f%%' % (100.0 * seg_metrics.miou,
                                        100.0 * seg_metrics.acc)


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


# --------------------------------------------------------------------------
# Progress.

def progress_bar(total, desc=''):
  """A progress bar counting images, with the rate in images/s."""
  from li_utils import progress

  class _ImagesBar(progress.ProgressBar):

    def format(self):
      return super(_ImagesBar, self).format().replace(' it/s', ' images/s')

  return _ImagesBar(total, prefix=desc)


# --------------------------------------------------------------------------
# Command line shared by train.py, validate.py and test.py.

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UsageError(ValueError):
  """Bad command line outside the config options (e.g. no --config_file)."""


class HelpRequested(Exception):
  """``-h`` / ``--help`` was given; carries the text to print."""

  def __init__(self, text):
    super(HelpRequested, self).__init__(text)
    self.text = text


def _misspelt_config_file_flag(argv):
  """A one-line hint when ``--config_file`` is missing but a look-alike
  (``--config-file``, ``--configfile``, ``--config``) was given."""
  from li_utils import config as config_lib
  for arg in argv:
    if not arg.startswith('--'):
      continue
    name = arg[2:].split('=', 1)[0]
    suggestion = config_lib.flag_suggestion(name)
    if '--config_file' in suggestion or name in ('config', 'cfg', 'c'):
      return 'unknown flag --%s (did you mean --config_file?)' % name
  return None


def split_config_file(argv):
  """Takes ``--config_file X`` / ``--config_file=X`` out of ``argv``.

  Returns:
    ``(config_file or None, remaining_argv)``.
  """
  config_file, rest = None, []
  i = 0
  argv = list(argv)
  while i < len(argv):
    arg = argv[i]
    if arg == '--config_file':
      if i + 1 >= len(argv):
        raise UsageError('--config_file needs a value (an .ini file)')
      config_file = argv[i + 1]
      i += 2
      continue
    if arg.startswith('--config_file='):
      config_file = arg.split('=', 1)[1]
    else:
      rest.append(arg)
    i += 1
  return config_file, rest


def resolve_config_file(config_file):
  """A relative config path is looked up from the working directory, then
  from the repository root, so ``config/...`` works from anywhere."""
  if os.path.isabs(config_file) or os.path.exists(config_file):
    return os.path.abspath(config_file)
  candidate = os.path.join(REPO_ROOT, config_file)
  if os.path.exists(candidate):
    return candidate
  raise UsageError('config file %s not found (looked in %s and %s)'
                   % (config_file, os.getcwd(), REPO_ROOT))


def load_program_config(mode, argv):
  """Loads the config of a program run: config file plus flag overrides."""
  from li_utils import config as config_lib
  if any(arg in ('-h', '--help') for arg in argv):
    from li_utils import config_help
    raise HelpRequested(config_help.format_help(mode))
  config_file, rest = split_config_file(argv)
  if not config_file:
    raise UsageError(_misspelt_config_file_flag(rest) or
                     '--config_file is required, e.g. --config_file '
                     'config/ADE20K/liMnv2_liAspp.ini (--help lists every '
                     'option)')
  return config_lib.load_config(resolve_config_file(config_file), mode, rest)


def _user_error_types():
  types = [ValueError, IOError]
  try:
    from li_utils import config as config_lib
    types.append(config_lib.ConfigError)
  except ImportError:
    pass
  return tuple(types)


def run_program(prog, main, argv):
  """Runs ``main(argv)`` and turns user errors into one-line messages.

  Returns the process exit status: ``main``'s return value (default 0), or
  2 after a configuration/input error. Set ``LI_CONVS_DEBUG=1`` to get the
  full traceback instead.
  """
  try:
    status = main(argv)
  except HelpRequested as request:
    sys.stdout.write(request.text)
    return 0
  except _user_error_types() as err:
    if os.environ.get('LI_CONVS_DEBUG'):
      raise
    message = str(err).strip().splitlines()
    message = message[0] if message else type(err).__name__
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    return 2
  return 0 if status is None else int(status)


# --------------------------------------------------------------------------
# Evaluation graph and loop shared by validate.py and test.py.

# files: the TFRecords read; output_stride: of the model (both for error
# messages).
EvalGraph = collections.namedtuple(
    'EvalGraph', ['iterator', 'fetches', 'saver', 'num_samples',
                  'num_classes', 'ignore_label', 'files', 'output_stride'],
    defaults=((), None))


def eval_scales_of(cfg):
  """``eval_scales_replace`` (when given) replaces ``eval_scales``."""
  scales = getattr(cfg, 'eval_scales_replace', None) or cfg.eval_scales
  scales = [float(s) for s in (scales or [1.0])]
  if any(s <= 0 for s in scales):
    raise ValueError('eval_scales must be positive, got %s' % scales)
  return scales


def build_predictions(images, model_options, eval_scales=(1.0,),
                      add_flipped_images=False, image_pyramid=None):
  """Int32 labels ``[B, H, W]`` of the eval graph: single scale through
  ``predict_labels`` (with the model's ``image_pyramid``, as the original),
  otherwise ``predict_labels_multi_scale``."""
  from li_models import model
  if list(eval_scales) == [1.0] and not add_flipped_images:
    predictions = model.predict_labels(images, model_options,
                                       image_pyramid=image_pyramid)
  else:
    predictions = model.predict_labels_multi_scale(
        images, model_options, eval_scales=tuple(eval_scales),
        add_flipped_images=add_flipped_images)
  return predictions['semantic']


def build_eval_graph(cfg, split_name, eval_scales, add_flipped_images):
  """Input pipeline (batch 1, no crop loss) + predictions + a Saver.

  Must be called inside the graph to fill. The fetches dict holds
  'prediction' [1, H, W], 'label' [1, H, W, 1], 'image', 'original_image',
  'image_name'.
  """
  import tensorflow.compat.v1 as tf
  from libs.datasets import data_generator
  from li_utils import model_config

  crop = list(cfg.eval_crop_size)
  dataset = data_generator.Dataset(
      dataset_name=cfg.dataset, split_name=split_name,
      dataset_dir=cfg.dataset_dir, batch_size=1, crop_size=crop,
      min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value, resize_factor=cfg.resize_factor,
      model_variant=cfg.model_variant, is_training=False,
      should_shuffle=False, should_repeat=False)
  iterator = dataset.get_initializable_iterator()
  samples = iterator.get_next()
  images = samples['image']
  images.set_shape([1, crop[0], crop[1], 3])
  model_options = model_config.model_options_from_config(
      cfg, dataset.num_of_classes, crop)
  predictions = build_predictions(images, model_options, eval_scales,
                                  add_flipped_images,
                                  getattr(cfg, 'image_pyramid', None))
  fetches = {'prediction': predictions,
             'label': samples['label'], 'image': images,
             'image_name': samples['image_name']}
  if 'original_image' in samples:
    fetches['original_image'] = samples['original_image']
  saver = tf.train.Saver(tf.global_variables())
  return EvalGraph(iterator, fetches, saver, dataset.num_samples,
                   dataset.num_of_classes, dataset.ignore_label,
                   tuple(dataset.files), cfg.output_stride)


def restore_checkpoint(sess, saver, checkpoint_path, variables=None,
                       config_file=None):
  """Restores a checkpoint, with a one-line error when it is unusable.

  Args:
    variables: those ``saver`` restores (default: the graph's global
      variables); compared with the checkpoint's before restoring.
    config_file: the config the model was built from; when the checkpoint
      does not fit it, the error names the shipped config that would.

  Raises:
    li_utils.checkpoint_check.CheckpointError or one of its subclasses
    (CheckpointGone, CheckpointDamaged, CheckpointMismatch).
  """
  from li_utils import checkpoint_check
  from li_utils import config_match
  if variables is None:
    variables = sess.graph.get_collection('variables')
  checkpoint_check.restore(sess, saver, checkpoint_path, variables,
                           config_file, suggest=config_match.suggestion)


def _image_name(out):
  name = out['image_name'][0]
  return name.decode('utf-8', 'replace') if isinstance(name, bytes) else name


def run_evaluation(sess, graph, desc='eval', per_image=False,
                   on_sample=None):
  """Runs one pass over the split and accumulates the confusion matrix.

  Args:
    sess: session holding the restored variables.
    graph: EvalGraph.
    per_image: also return each image's mIoU and name.
    on_sample: optional ``fn(index, fetched_numpy_dict)`` (plots).

  Returns:
    ``(hist, image_mious, image_names)`` (the last two empty unless
    per_image).
  """
  import tensorflow.compat.v1 as tf
  from li_utils import metrics

  sess.run(graph.iterator.initializer)
  n = graph.num_classes
  hist = np.zeros((n, n), dtype=np.int64)
  scored = metrics.num_scored_classes(n, graph.ignore_label)
  mious, names = [], []
  bar = progress_bar(graph.num_samples, desc)
  index = 0
  try:
    while True:
      try:
        out = sess.run(graph.fetches)
      except tf.errors.OutOfRangeError:
        break
      except tf.errors.OpError as err:
        from li_utils import input_errors
        explained = input_errors.from_pipeline_error(err, graph.files,
                                                     graph.output_stride)
        if explained is None:
          raise
        raise explained from err
      try:
        image_hist = metrics.confusion_matrix(
            out['label'], out['prediction'], n, graph.ignore_label)
      except ValueError as err:
        raise ValueError('image %r: %s' % (_image_name(out), err)) from err
      hist += image_hist
      if per_image:
        mious.append(metrics.metrics_from_hist(image_hist, scored).miou)
        name = out['image_name'][0]
        names.append(name.decode('utf-8', 'replace')
                     if isinstance(name, bytes) else str(name))
      if on_sample is not None:
        on_sample(index, out)
      index += 1
      bar.update(1)
  finally:
    bar.close()
  return hist, mious, names
