"""Checks of the records an input pipeline reads, and the one-line messages
their failures turn into.

Inside the pipeline, assertions stop a run at the first record whose label
and image differ in size, whose label holds a class outside
``[0, num_classes)`` that is not the ignore label (training), or whose image
is larger than the evaluation crop (evaluation).  Each assertion
carries the TFRecord file, the image name and the sizes, so that
``explain_pipeline_error`` can turn TensorFlow's error into one sentence.

A truncated or corrupt TFRecord file shows up in TensorFlow as a
``DataLossError`` that names no file; ``find_damaged_file`` reads the files
once more to name it.
"""
import re

import tensorflow.compat.v1 as tf

_MARKER = 'LI_INPUT_CHECK'
LABEL_RANGE = 'label_range'
LABEL_SIZE = 'label_size'
EVAL_CROP = 'eval_crop'

_ASSERTION = re.compile(r'assertion failed: \[%s (\w+)\] \[(.*)\]' % _MARKER)


class RecordError(ValueError):
  """A record or TFRecord file that cannot be used (one-line message)."""


def _assert(condition, kind, record_file, image_name, *values):
  return tf.Assert(condition, ['%s %s' % (_MARKER, kind), record_file,
                               image_name] + list(values), summarize=8)


def label_size_check(image, label, record_file, image_name):
  """Assertion that a decoded image [H, W, 3] and its label [H, W, 1] have
  the same height and width."""
  image_size = tf.shape(image)[:2]
  label_size = tf.shape(label)[:2]
  return _assert(tf.reduce_all(tf.equal(image_size, label_size)),
                 LABEL_SIZE, record_file, image_name, image_size, label_size)


def label_range_check(label, num_classes, ignore_label, record_file,
                      image_name):
  """Assertion that every value of ``label`` lies in ``[0, num_classes)``
  or equals ``ignore_label``."""
  values = tf.cast(label, tf.int64)
  bad = tf.logical_and(
      tf.logical_or(values < 0, values >= num_classes),
      tf.not_equal(values, ignore_label))
  worst = tf.reduce_max(tf.where(bad, values, tf.zeros_like(values)))
  return _assert(tf.logical_not(tf.reduce_any(bad)), LABEL_RANGE,
                 record_file, image_name, worst,
                 tf.constant(num_classes, tf.int64),
                 tf.constant(ignore_label, tf.int64))


def eval_crop_check(image, crop_size, record_file, image_name):
  """Assertion that ``image`` [H, W, C] (after any resize) fits the
  evaluation crop: evaluation pads, it never crops."""
  size = tf.shape(image)[:2]
  crop = tf.constant(list(crop_size), tf.int32)
  return _assert(tf.reduce_all(size <= crop), EVAL_CROP, record_file,
                 image_name, size, crop)


def parse_check_failure(message):
  """``(kind, fields)`` of a failed check in a TensorFlow error message, or
  None when the error comes from elsewhere.  ``fields`` are the bracketed
  values after the kind: file, image name, then the numbers."""
  match = _ASSERTION.search(message or '')
  if not match:
    return None
  return match.group(1), match.group(2).split('] [')


def _numbers(text):
  return [int(n) for n in re.findall(r'-?\d+', text)]


def explain_check_failure(message, output_stride=None):
  """One-line explanation of a failed record check, or None.

  Args:
    message: the TensorFlow error message.
    output_stride: of the evaluated model, to suggest a crop size.
  """
  parsed = parse_check_failure(message)
  if parsed is None:
    return None
  kind, fields = parsed
  record_file, name = fields[0], fields[1]
  numbers = [_numbers(f) for f in fields[2:]]
  where = 'record %r in %s' % (name, record_file)
  if kind == LABEL_RANGE:
    value, num_classes, ignore = (n[0] for n in numbers[:3])
    return ('%s has label value %d, outside [0, %d) and not the ignore label '
            '%d: fix the label image or use the dataset whose num_classes '
            'fits it' % (where, value, num_classes, ignore))
  if kind == LABEL_SIZE:
    image, label = numbers[0], numbers[1]
    return ('%s: its label is %dx%d but its image is %dx%d; rebuild the '
            'record from a label of the image\'s size'
            % (where, label[0], label[1], image[0], image[1]))
  if kind == EVAL_CROP:
    size, crop = numbers[0], numbers[1]
    return ('image %r in %s is %dx%d (after any resize), larger than '
            'eval_crop_size %d,%d (evaluation pads, never crops): use '
            '--eval_crop_size=%s or larger' % (
                name, record_file, size[0], size[1], crop[0], crop[1],
                suggested_crop(size, crop, output_stride)))
  return None


def suggested_crop(size, crop, output_stride=None):
  """``'h,w'``: at least the image and the current crop, each side of the
  form k * output_stride + 1 as DeepLab's crops are (513 = 32 * 16 + 1)."""
  sides = []
  for image_side, crop_side in zip(size, crop):
    side = max(image_side, crop_side)
    if output_stride:
      side = -(-(side - 1) // output_stride) * output_stride + 1
    sides.append(str(side))
  return ','.join(sides)


def find_damaged_file(files):
  """The first TFRecord file that cannot be read to its end.

  Returns:
    ``(path, records_read_before_the_damage, cause)`` or None.
  """
  for path in files:
    count = 0
    try:
      for _ in tf.io.tf_record_iterator(path):
        count += 1
    except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as err:
      cause = str(getattr(err, 'message', err)).strip().splitlines()
      return path, count, cause[0] if cause else type(err).__name__
  return None


def damaged_file_message(damage):
  path, count, cause = damage
  return ('TFRecord file %s is truncated or corrupt after %d good records '
          '(%s): rebuild the dataset (see docs/datasets.md) or remove the '
          'file' % (path, count, cause))


def explain_data_loss(files):
  """A RecordError naming the damaged file among ``files`` (after a
  DataLossError), or None when every file reads cleanly now."""
  damage = find_damaged_file(files)
  return None if damage is None else RecordError(
      damaged_file_message(damage))
