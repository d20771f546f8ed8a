"""The benchmark figures: which config, crop and batch each one times, and
the synthetic records they read.

A *figure* is one unit of work docs/performance.md quotes: ``test.py``'s
graph per image or ``train.py``'s train op per step, for one shipped config
at one crop.  Only the pixels are synthetic: every graph is the one of its
config (classes, crops, rates, LI placement), with ``dataset_dir`` pointed
at generated synthetic-shapes TFRecords and the initial checkpoint switched
off.
"""
import json
import os
import shutil
import tempfile

from benchmarks.timing import BenchmarkError
from libs.core import op_graphs
from li_programs.config import config as config_lib
from li_programs.runtime import inference_engine

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_MNV2_BASELINE = ['--model_variant=mobilenet_v2', '--dpn_variant=aspp']
_R50_BASELINE = ['--model_variant=resnet_v1_50_beta', '--dpn_variant=aspp']
# name -> (mode, config relative to the repo, extra flags, crop, batch).
# The crops and batch are those of the figures the project quotes: test.py
# at 513x513 on CelebAMask-HQ, train.py at 129x129, batch 4, on ADE20K.
FIGURES = {
    'test_li_mnv2': ('eval', 'config/CelebAMask_HQ/liMnv2_liAspp.ini', [],
                     513, 1),
    'train_li_mnv2': ('train', 'config/ADE20K/liMnv2_liAspp.ini', [], 129, 4),
    'test_li_r50': ('eval', 'config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
                    [], 513, 1),
    'train_li_r50': ('train', 'config/ADE20K/liResnet50_liAspp_dcd.ini', [],
                     129, 4),
    # The same graphs without LI (MobileNetV2 + ASPP, ResNet-50-beta + ASPP
    # + decoder): the LI overhead is the time ratio against these.
    'test_mnv2': ('eval', 'config/CelebAMask_HQ/liMnv2_liAspp.ini',
                  _MNV2_BASELINE, 513, 1),
    'train_mnv2': ('train', 'config/ADE20K/liMnv2_liAspp.ini', _MNV2_BASELINE,
                   129, 4),
    'test_r50': ('eval', 'config/CelebAMask_HQ/liResnet50_liAspp_dcd.ini',
                 _R50_BASELINE, 513, 1),
    'train_r50': ('train', 'config/ADE20K/liResnet50_liAspp_dcd.ini',
                  _R50_BASELINE, 129, 4),
}
LI_BASELINES = {'test_li_mnv2': 'test_mnv2', 'train_li_mnv2': 'train_mnv2',
                'test_li_r50': 'test_r50', 'train_li_r50': 'train_r50'}


def make_bench_records(root, num_images, image_size, seed=0):
  """Synthetic-shapes train/val TFRecords under ``root``; returns their folder.

  Labels are classes 0-4 without the 255 ignore band, valid for every
  benchmarked dataset.  An earlier set with the same parameters (recorded
  in a stamp file) is reused.
  """
  stamp = {'num_images': num_images, 'image_size': image_size, 'seed': seed,
           'ignore_width': 0}
  tfrecord_dir = os.path.join(root, 'tfrecord')
  stamp_path = os.path.join(root, 'stamp.json')
  if os.path.isfile(stamp_path):
    with open(stamp_path) as f:
      if json.load(f) == stamp:
        return tfrecord_dir
  # Imported here: they pull in TensorFlow, which the driver never needs.
  from dataset_generation import build_voc2012_data
  from dataset_generation import make_synthetic_shapes
  shutil.rmtree(root, ignore_errors=True)
  raw = os.path.join(root, 'raw')
  make_synthetic_shapes.write_dataset(raw, num_images, num_images, image_size,
                                      image_size, seed=seed, ignore_width=0)
  status = build_voc2012_data.main([
      '--image_folder', os.path.join(raw, 'JPEGImages'),
      '--semantic_segmentation_folder', os.path.join(raw, 'SegmentationClass'),
      '--list_folder', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--image_format', 'jpg', '--label_format', 'png',
      '--output_dir', tfrecord_dir, '--num_shards', '2'])
  if status:
    raise BenchmarkError('building the benchmark TFRecords in %s failed'
                         % tfrecord_dir)
  shutil.rmtree(raw, ignore_errors=True)
  with open(stamp_path, 'w') as f:
    json.dump(stamp, f)
  return tfrecord_dir


def figure_config(name, dataset_dir, crop=None, batch=None,
                  op_graph=op_graphs.FAST,
                  engine=inference_engine.AUTO, threads=None, flags=()):
  """The loaded config of figure ``name``, its data redirected to the records.

  ``crop``/``batch`` override the figure's (quick runs and tests);
  ``op_graph`` and ``engine`` (``inference_engine``, test figures) are the
  config options of those names; ``threads``: ``{'intra_op_threads': n,
  'inter_op_threads': m}`` config options (None values: the defaults), which
  reach the session and, as the programs', the TF Lite interpreter;
  ``flags``: more options, as command-line flags (``--winograd=true``).
  """
  if name not in FIGURES:
    raise BenchmarkError('unknown figure %r; allowed values: %s'
                         % (name, ', '.join(sorted(FIGURES))))
  mode, config, fig_flags, fig_crop, fig_batch = FIGURES[name]
  crop = crop or fig_crop
  batch = batch or fig_batch
  flags = list(fig_flags) + list(flags) + [
      '--dataset_dir=%s' % dataset_dir,
      '--snapshot_root=%s' % tempfile.gettempdir(),
      '--op_graph=%s' % op_graph]
  flags += ['--%s=%d' % (key, value)
            for key, value in sorted((threads or {}).items())
            if value is not None]
  if mode == 'train':
    flags += ['--train_split=train', '--tf_initial_checkpoint=none',
              '--num_clones=1', '--train_batch_size=%d' % batch,
              '--train_crop_size=%d,%d' % (crop, crop)]
    return config_lib.load_config(os.path.join(REPO_ROOT, config), 'train',
                                  flags)
  flags += ['--test_split=val', '--val_split=val',
            '--eval_crop_size=%d,%d' % (crop, crop),
            '--inference_engine=%s' % engine]
  return config_lib.load_config(os.path.join(REPO_ROOT, config), 'test',
                                flags)

