"""tf.data input pipeline over DeepLab-format TFRecords.

Records live in ``<dataset_dir>/<split>-<shard>-of-<num_shards>.tfrecord``
with the features below (DeepLab's format). ``Dataset`` parses, preprocesses,
shuffles, repeats and batches them; every sample is a dict:

  'image'       float32 [B, h, w, 3], 0..255 (not normalised); in training
                with should_repeat B is static (the remainder is dropped)
  'label'       int32 [B, h, w, 1]
  'image_name'  string [B]
  'height', 'width'  int64 [B], size of the stored image
  'original_image'   (evaluation only) the image before padding, uint8 unless
                     a resize to range was applied (then float32)

In evaluation nothing is cropped, so images of different sizes have unknown
static height/width; evaluation programs set the static shape from the eval
crop size themselves (or use batch 1).
"""
import collections
import glob
import os

import tensorflow.compat.v1 as tf

from libs.datasets import input_preprocess
from libs.datasets import record_checks
from libs.datasets import shard_sets
from libs.datasets import tfrecord_framing
# DeepLab's TFRecord feature keys, re-exported for the readers' users.
from libs.datasets.tfrecord_format import (  # noqa: F401  (re-exported)
    FEATURE_CHANNELS, FEATURE_FILENAME, FEATURE_FORMAT, FEATURE_HEIGHT,
    FEATURE_IMAGE, FEATURE_LABEL, FEATURE_LABEL_FORMAT, FEATURE_WIDTH)

# Keys of the sample dicts.
IMAGE = 'image'
LABEL = 'label'
IMAGE_NAME = 'image_name'
HEIGHT = 'height'
WIDTH = 'width'
ORIGINAL_IMAGE = 'original_image'

# Shuffle buffer used in training.
_SHUFFLE_BUFFER = 100
# Key of the TFRecord file a sample came from, inside the pipeline only.
_RECORD_FILE = 'record_file'


class DatasetError(ValueError):
  """Bad dataset name, split or directory (one-line message)."""


DatasetDescriptor = collections.namedtuple(
    'DatasetDescriptor',
    ['splits_to_sizes',  # dict split -> size, or None: any split, counted.
     'num_classes',      # number of classes including background.
     'ignore_label'])    # label value ignored in loss and metrics.

_DATASETS_INFORMATION = {
    'pascal_voc_seg': DatasetDescriptor(
        splits_to_sizes={'train': 1464, 'train_aug': 10582,
                         'trainval': 2913, 'val': 1449},
        num_classes=21, ignore_label=255),
    'ade20k': DatasetDescriptor(
        splits_to_sizes={'train': 20210, 'val': 2000},
        num_classes=151, ignore_label=0),
    'celeba_mask': DatasetDescriptor(
        splits_to_sizes={'train': 24183, 'val': 2993, 'trainval': 27176,
                         'test': 2824},
        num_classes=19, ignore_label=255),
    'cityscapes': DatasetDescriptor(
        splits_to_sizes={'train': 2975, 'val': 500},
        num_classes=19, ignore_label=255),
    # Generated for tests and the demo: background + disc, square, triangle,
    # cross. Split sizes depend on the generation, so they are counted.
    'synthetic_shapes': DatasetDescriptor(
        splits_to_sizes=None, num_classes=5, ignore_label=255),
}


def dataset_names():
  """Names accepted as `dataset_name`."""
  return sorted(_DATASETS_INFORMATION)


def get_descriptor(dataset_name):
  """Returns the DatasetDescriptor of `dataset_name` or raises DatasetError."""
  if dataset_name not in _DATASETS_INFORMATION:
    raise DatasetError('dataset %r is not supported; allowed values: %s '
                       '(or describe your own with num_classes and '
                       'ignore_label in the config\'s [data])'
                       % (dataset_name, ', '.join(dataset_names())))
  return _DATASETS_INFORMATION[dataset_name]


def split_file_pattern(dataset_dir, split_name):
  """Glob of the TFRecord files of a split."""
  return os.path.join(dataset_dir, '%s-*' % split_name)


def get_split_files(dataset_dir, split_name):
  """Sorted TFRecord files of a split.

  Raises:
    DatasetError: naming the glob when nothing matches, or the files when
      they are no complete shard set (see shard_sets).
  """
  pattern = split_file_pattern(dataset_dir, split_name)
  if not dataset_dir or not os.path.isdir(dataset_dir):
    raise DatasetError('dataset directory %r does not exist (searched %s)'
                       % (dataset_dir, pattern))
  files = sorted(glob.glob(pattern))
  if not files:
    raise DatasetError('no TFRecord files for split %r: nothing matches %s'
                       % (split_name, pattern))
  problem = shard_sets.shard_set_problem(
      files, split_name, dataset_dir,
      'rebuild the split (see docs/datasets.md) or remove the stray '
      'files')
  if problem:
    raise DatasetError(problem)
  return files


def count_records(files):
  """Number of records in the TFRecord ``files``.

  Read off the record framing (see tfrecord_framing), checking each
  record's length before trusting it, the same on every TensorFlow
  version.

  Raises:
    DatasetError: a file is damaged or ends inside a record (the message
      names it and the record).
  """
  total = 0
  for path in files:
    count, damage = tfrecord_framing.count_file_records(path)
    if damage is not None:
      raise DatasetError(record_checks.damaged_file_message(damage))
    total += count
  return total


def decode_image(content, channels):
  """Decodes JPEG/PNG/GIF/BMP bytes into a uint8 [H, W, channels] tensor."""
  image = tf.image.decode_image(content, channels=channels,
                                expand_animations=False)
  image.set_shape([None, None, channels])
  return image


def parse_example(serialized):
  """Parses one serialized tf.Example into image, label and metadata."""
  features = {
      FEATURE_IMAGE: tf.io.FixedLenFeature((), tf.string, default_value=''),
      FEATURE_FILENAME: tf.io.FixedLenFeature((), tf.string, default_value=''),
      FEATURE_FORMAT: tf.io.FixedLenFeature(
          (), tf.string, default_value='jpeg'),
      FEATURE_HEIGHT: tf.io.FixedLenFeature((), tf.int64, default_value=0),
      FEATURE_WIDTH: tf.io.FixedLenFeature((), tf.int64, default_value=0),
      FEATURE_LABEL: tf.io.FixedLenFeature((), tf.string, default_value=''),
      FEATURE_LABEL_FORMAT: tf.io.FixedLenFeature(
          (), tf.string, default_value='png'),
  }
  parsed = tf.io.parse_single_example(serialized, features)
  image = decode_image(parsed[FEATURE_IMAGE], channels=3)
  label = decode_image(parsed[FEATURE_LABEL], channels=1)
  return {
      IMAGE: image,
      LABEL: label,
      IMAGE_NAME: parsed[FEATURE_FILENAME],
      HEIGHT: parsed[FEATURE_HEIGHT],
      WIDTH: parsed[FEATURE_WIDTH],
  }


def _records_with_their_file(path):
  """The records of one TFRecord file, each as (path, serialized)."""
  return tf.data.TFRecordDataset(path).map(
      tf.autograph.experimental.do_not_convert(lambda record: (path, record)))


def _without_autotune(dataset):
  """``dataset`` with tf.data's autotuning off, on TensorFlow 2.x.

  Every stage here has a fixed parallelism and buffer, so the autotuner has
  nothing to tune; but on TensorFlow 2.x its background thread often made
  closing the session wait seconds after the last batch (docs/performance.md,
  Whole runs).  TensorFlow 1.15 has neither the option nor the wait.
  """
  options = tf.data.Options()
  if not hasattr(options, 'autotune'):
    return dataset
  options.autotune.enabled = False
  return dataset.with_options(options)


class Dataset(object):
  """A split of a segmentation dataset stored as DeepLab TFRecords."""

  def __init__(self,
               dataset_name,
               split_name,
               dataset_dir,
               batch_size,
               crop_size,
               min_resize_value=None,
               max_resize_value=None,
               resize_factor=None,
               min_scale_factor=1.,
               max_scale_factor=1.,
               scale_factor_step_size=0,
               normalisation='unit_range',
               num_readers=1,
               is_training=False,
               should_shuffle=False,
               should_repeat=False,
               seed=None,
               descriptor=None):
    """Checks the arguments and finds the split's files.

    Args:
      dataset_name: one of dataset_names().
      split_name: split of that dataset (any split for generated sets).
      dataset_dir: folder holding the TFRecords.
      batch_size: samples per batch (> 0).
      crop_size: [crop_height, crop_width].
      seed: optional seed for shuffling and the random augmentation.
      descriptor: the DatasetDescriptor of a dataset that is not built in
        (default: ``get_descriptor(dataset_name)``).
      The other arguments are those of
      input_preprocess.preprocess_image_and_label.

    Raises:
      DatasetError: unknown dataset or split, missing directory, no files,
        invalid batch or crop size.
    """
    descriptor = descriptor or get_descriptor(dataset_name)
    sizes = descriptor.splits_to_sizes
    if sizes is not None and split_name not in sizes:
      raise DatasetError('split %r is not a split of %s; allowed values: %s'
                         % (split_name, dataset_name,
                            ', '.join(sorted(sizes))))
    if int(batch_size) <= 0:
      raise DatasetError('batch_size must be positive, got %r' % batch_size)
    if crop_size is None or len(crop_size) != 2 or min(crop_size) <= 0:
      raise DatasetError('crop_size must be [height, width] > 0, got %r'
                         % (crop_size,))
    if int(num_readers) <= 0:
      raise DatasetError('num_readers must be positive, got %r' % num_readers)
    self.dataset_name = dataset_name
    self.split_name = split_name
    self.dataset_dir = dataset_dir
    self.batch_size = int(batch_size)
    self.crop_size = [int(crop_size[0]), int(crop_size[1])]
    self.min_resize_value = min_resize_value
    self.max_resize_value = max_resize_value
    self.resize_factor = resize_factor
    self.min_scale_factor = min_scale_factor
    self.max_scale_factor = max_scale_factor
    self.scale_factor_step_size = scale_factor_step_size
    self.normalisation = normalisation
    self.num_readers = int(num_readers)
    self.is_training = is_training
    self.should_shuffle = should_shuffle
    self.should_repeat = should_repeat
    self.seed = seed
    self.num_of_classes = descriptor.num_classes
    self.ignore_label = descriptor.ignore_label
    self.files = get_split_files(dataset_dir, split_name)
    self._descriptor_size = None if sizes is None else sizes[split_name]
    self._num_samples = None

  @property
  def num_samples(self):
    """Records actually present in the split (counted once, on first use).

    A count that differs from the descriptor's split size is logged as a
    warning: evaluation then covers the records present.
    """
    if self._num_samples is None:
      self._num_samples = count_records(self.files)
      expected = self._descriptor_size
      if expected is not None and expected != self._num_samples:
        tf.logging.warning(
            '%s split %r: %d records found in %s, the dataset descriptor '
            'says %d; using the %d records present.', self.dataset_name,
            self.split_name, self._num_samples,
            split_file_pattern(self.dataset_dir, self.split_name), expected,
            self._num_samples)
    return self._num_samples

  def _parse_and_check(self, record_file, serialized):
    """parse_example plus the record checks (libs.datasets.record_checks);
    a failing check stops the pipeline naming ``record_file``."""
    sample = parse_example(serialized)
    checks = [record_checks.label_size_check(
        sample[IMAGE], sample[LABEL], record_file, sample[IMAGE_NAME])]
    if self.is_training:
      # Evaluation rejects such labels when it counts them
      # (li_programs.evaluate.metrics); training would learn from them silently.
      checks.append(record_checks.label_range_check(
          sample[LABEL], self.num_of_classes, self.ignore_label, record_file,
          sample[IMAGE_NAME]))
    with tf.control_dependencies(checks):
      sample[LABEL] = tf.identity(sample[LABEL])
    sample[_RECORD_FILE] = record_file
    return sample

  def _preprocess(self, sample):
    record_file = sample.pop(_RECORD_FILE, None)
    original_image, image, label = (
        input_preprocess.preprocess_image_and_label(
            image=sample[IMAGE],
            label=sample[LABEL],
            crop_height=self.crop_size[0],
            crop_width=self.crop_size[1],
            min_resize_value=self.min_resize_value,
            max_resize_value=self.max_resize_value,
            resize_factor=self.resize_factor,
            min_scale_factor=self.min_scale_factor,
            max_scale_factor=self.max_scale_factor,
            scale_factor_step_size=self.scale_factor_step_size,
            ignore_label=self.ignore_label,
            is_training=self.is_training,
            normalisation=self.normalisation,
            seed=self.seed))
    if not self.is_training and record_file is not None:
      # Evaluation pads to the crop and never crops: a larger image would
      # reach the network at a size it was not built for.
      with tf.control_dependencies([record_checks.eval_crop_check(
          original_image, self.crop_size, record_file, sample[IMAGE_NAME])]):
        image = tf.identity(image)
    sample[IMAGE] = image
    sample[LABEL] = label
    if not self.is_training:
      sample[ORIGINAL_IMAGE] = original_image
    return sample

  def get_dataset(self):
    """Returns the batched tf.data.Dataset of preprocessed samples."""
    # Each record travels with the name of its file, for the messages of
    # the record checks; files are read round robin, num_readers at a time
    # (what TFRecordDataset(files, num_parallel_reads) does).
    # The map functions are plain graph code: skipping autograph's
    # conversion saves seconds per pipeline built (it changes nothing else).
    do_not_convert = tf.autograph.experimental.do_not_convert
    files = tf.data.Dataset.from_tensor_slices(self.files)
    dataset = files.interleave(do_not_convert(_records_with_their_file),
                               cycle_length=self.num_readers, block_length=1)
    dataset = dataset.map(do_not_convert(self._parse_and_check),
                          num_parallel_calls=self.num_readers)
    # Seeded random augmentation repeats only when one sample at a time
    # draws from the random ops.
    dataset = dataset.map(do_not_convert(self._preprocess),
                          num_parallel_calls=(1 if self.seed is not None
                                              else self.num_readers))
    if self.should_shuffle:
      dataset = dataset.shuffle(buffer_size=_SHUFFLE_BUFFER, seed=self.seed)
    if self.should_repeat:
      dataset = dataset.repeat()
    # An endless training stream loses nothing by dropping the remainder and
    # gains a static batch dimension; evaluation keeps every record.
    dataset = dataset.batch(
        self.batch_size, drop_remainder=self.is_training and self.should_repeat)
    return _without_autotune(dataset.prefetch(self.batch_size))

  def get_one_shot_iterator(self):
    """One-shot iterator over get_dataset(); get_next() is a sample dict."""
    return tf.data.make_one_shot_iterator(self.get_dataset())

  def get_initializable_iterator(self):
    """Initializable iterator over get_dataset() (re-run the initializer to
    start another pass)."""
    return tf.data.make_initializable_iterator(self.get_dataset())
