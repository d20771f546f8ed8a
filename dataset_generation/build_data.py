"""Shared pieces of the TFRecord builders: reading images/labels, tf.Example
encoding and sharded writing.

Images are stored as the bytes of their original file. Labels must be one
class id per pixel: grey-scale PNGs are stored as they are; palette PNGs
(whose pixel values are already the class ids) and RGB PNGs with three equal
channels are re-encoded as grey-scale PNGs. A colour label map, or an image and
label of different sizes, stops the build with a BuildError naming the file.
"""
import io
import math
import os
import sys

import numpy as np
from PIL import Image

from libs.core.progress import ProgressBar
from libs.datasets.tfrecord_format import (
    FEATURE_CHANNELS, FEATURE_FILENAME, FEATURE_FORMAT, FEATURE_HEIGHT,
    FEATURE_IMAGE, FEATURE_LABEL, FEATURE_LABEL_FORMAT, FEATURE_WIDTH,
    shard_name)

# TensorFlow is imported only by the functions that write records, so the
# preparation tools (colour map removal, CelebAMask-HQ steps) start quickly.

# How DeepLab names formats inside the records.
_FORMAT_NAMES = {'jpg': 'jpeg', 'jpeg': 'jpeg', 'png': 'png'}


class BuildError(ValueError):
  """A dataset cannot be built; the message names the offending file."""


def format_name(extension):
  """'jpg' -> 'jpeg', 'png' -> 'png'; BuildError for other extensions."""
  key = extension.lower().lstrip('.')
  if key not in _FORMAT_NAMES:
    raise BuildError('image format %r is not supported; allowed values: %s'
                     % (extension, ', '.join(sorted(_FORMAT_NAMES))))
  return _FORMAT_NAMES[key]


def open_image(path):
  """Returns (file bytes, loaded PIL image); BuildError if unreadable."""
  if not os.path.isfile(path):
    raise BuildError('file not found: %s' % path)
  with open(path, 'rb') as handle:
    data = handle.read()
  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except (IOError, OSError, SyntaxError) as error:
    raise BuildError('cannot decode %s: %s' % (path, error))
  return data, image


def read_image(path):
  """Returns (original file bytes, format, height, width) of an image."""
  data, image = open_image(path)
  fmt = (image.format or '').lower()
  if fmt not in ('jpeg', 'png', 'gif', 'bmp'):
    raise BuildError('image %s is %s; allowed formats: jpeg, png, gif, bmp'
                     % (path, image.format))
  width, height = image.size
  return data, fmt, height, width


def label_to_array(image, path):
  """Class-id array [H, W] (uint8) of a PIL label image."""
  if image.mode == 'P':
    array = np.array(image)  # Palette indices are the class ids.
  elif image.mode in ('L', '1'):
    array = np.array(image.convert('L'))
  elif image.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):
    array = np.array(image)
  elif image.mode in ('LA', 'RGB', 'RGBA'):
    channels = np.array(image)
    colour = channels[..., :1 if image.mode == 'LA' else 3]
    if not np.all(colour == colour[..., :1]):
      raise BuildError('label %s is a colour image; convert it to class ids '
                       'first (remove_gt_colormap.py)' % path)
    array = colour[..., 0]
  else:
    raise BuildError('label %s has unsupported mode %s' % (path, image.mode))
  if array.min() < 0 or array.max() > 255:
    raise BuildError('label %s has values outside 0..255' % path)
  return array.astype(np.uint8)


def encode_png(array):
  """PNG bytes of a uint8 array [H, W] or [H, W, 3]."""
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format='PNG')
  return buffer.getvalue()


def read_label(path):
  """Returns (grey-scale PNG bytes, height, width) of a label map."""
  data, image = open_image(path)
  width, height = image.size
  if image.format == 'PNG' and image.mode == 'L':
    return data, height, width
  return encode_png(label_to_array(image, path)), height, width


def image_seg_to_tfexample(image_data, filename, height, width, seg_data,
                           image_format='jpeg', seg_format='png'):
  """tf.train.Example in DeepLab's segmentation format."""
  import tensorflow.compat.v1 as tf  # lazily: only writing records needs it

  def to_bytes(value):
    if isinstance(value, str):
      value = value.encode('utf-8')
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

  def to_int64(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

  return tf.train.Example(features=tf.train.Features(feature={
      FEATURE_IMAGE: to_bytes(image_data),
      FEATURE_FILENAME: to_bytes(filename),
      FEATURE_FORMAT: to_bytes(image_format),
      FEATURE_HEIGHT: to_int64(height),
      FEATURE_WIDTH: to_int64(width),
      FEATURE_CHANNELS: to_int64(3),
      FEATURE_LABEL: to_bytes(seg_data),
      FEATURE_LABEL_FORMAT: to_bytes(seg_format),
  }))


def make_example(name, image_path, label_path):
  """Reads one image/label pair into a tf.Example (checks their sizes)."""
  image_data, image_format, height, width = read_image(image_path)
  label_data, label_height, label_width = read_label(label_path)
  if (height, width) != (label_height, label_width):
    raise BuildError('image %s is %dx%d but its label %s is %dx%d (HxW)'
                     % (image_path, height, width, label_path, label_height,
                        label_width))
  return image_seg_to_tfexample(image_data, name, height, width, label_data,
                                image_format=image_format)


def shard_filename(output_dir, split, shard, num_shards):
  """Path of a shard (DeepLab's naming, see tfrecord_format.shard_name)."""
  return os.path.join(output_dir, shard_name(split, shard, num_shards))


def write_split(split, examples, output_dir, num_shards=4, stream=None):
  """Writes `examples` [(name, image_path, label_path)] as sharded records.

  Shards are written one after another; if a pair turns out to be bad, the
  shards of this split written so far are removed, so no partial split is
  left behind. Returns the list of shard paths.
  """
  import tensorflow.compat.v1 as tf  # lazily: only writing records needs it
  if num_shards <= 0:
    raise BuildError('--num_shards must be positive, got %r' % num_shards)
  stream = stream if stream is not None else sys.stdout
  if not os.path.isdir(output_dir):
    os.makedirs(output_dir)
  per_shard = int(math.ceil(len(examples) / float(num_shards)))
  paths = []
  try:
    with ProgressBar(len(examples), prefix=split, stream=stream) as bar:
      for shard in range(num_shards):
        path = shard_filename(output_dir, split, shard, num_shards)
        paths.append(path)
        with tf.io.TFRecordWriter(path) as writer:
          for name, image_path, label_path in examples[
              shard * per_shard:(shard + 1) * per_shard]:
            example = make_example(name, image_path, label_path)
            # Deterministic: two builds of the same files are the same bytes.
            writer.write(example.SerializeToString(deterministic=True))
            bar.update()
  except BaseException:
    for path in paths:
      if os.path.exists(path):
        os.remove(path)
    raise
  stream.write('%s: %d examples in %d shards under %s\n'
               % (split, len(examples), num_shards, output_dir))
  return paths


def read_list(path):
  """Names listed one per line in `path` (blank lines skipped)."""
  if not os.path.isfile(path):
    raise BuildError('list file not found: %s' % path)
  with open(path) as handle:
    return [line.strip() for line in handle if line.strip()]


def run_main(main, argv=None):
  """Runs a builder's main(argv), turning BuildError into a one-line error
  on stderr and exit status 1."""
  try:
    return main(argv)
  except BuildError as error:
    sys.stderr.write('error: %s\n' % error)
    return 1
