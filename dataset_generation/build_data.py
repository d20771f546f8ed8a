"""Shared pieces of the TFRecord builders: reading images/labels, tf.Example
encoding and sharded writing.

Images are stored as the bytes of their original file. Labels must be one
class id per pixel: grey-scale PNGs are stored as they are; palette PNGs
(whose pixel values are already the class ids) and RGB PNGs with three equal
channels are re-encoded as grey-scale PNGs. A colour label map, or an image and
label of different sizes, stops the build with a BuildError naming the file.
"""
import glob
import io
import math
import os
import signal
import sys

import numpy as np
from PIL import Image

from libs.core import quiet_tf
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
    raise BuildError('cannot decode %s: %s' % (path, error)) from error
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
  tf = quiet_tf.import_tensorflow()  # lazily: only writing records needs it

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


def partial_filename(path):
  """Where a shard is written until complete: a hidden name beside it that
  no reader's ``{split}-*`` glob matches."""
  folder, name = os.path.split(path)
  return os.path.join(folder, '.%s.partial' % name)


def _shards_of(output_dir, split):
  """The complete and the partial shard files of ``split`` present."""
  shard = '[0-9]' * 5
  complete = glob.glob(os.path.join(glob.escape(output_dir), '%s-%s-of-%s'
                                    '.tfrecord' % (glob.escape(split), shard,
                                                   shard)))
  partial = glob.glob(os.path.join(glob.escape(output_dir), '.%s-*.partial'
                                   % glob.escape(split)))
  return sorted(complete), sorted(partial)


def write_split(split, examples, output_dir, num_shards=4, stream=None):
  """Writes `examples` [(name, image_path, label_path)] as sharded records.

  Each shard is written under a temporary name (``partial_filename``) and
  renamed once every shard of the split is complete; then the split's
  shards of any earlier build that are not part of the new set (another
  ``--num_shards``) are removed.  A bad pair or an interruption (exception,
  SIGTERM through ``run_main``) removes the temporary files and leaves the
  earlier shards as they were.  Returns the list of shard paths.
  """
  tf = quiet_tf.import_tensorflow()  # lazily: only writing records needs it
  if num_shards <= 0:
    raise BuildError('--num_shards must be positive, got %r' % num_shards)
  stream = stream if stream is not None else sys.stdout
  if not os.path.isdir(output_dir):
    os.makedirs(output_dir)
  for leftover in _shards_of(output_dir, split)[1]:
    os.remove(leftover)  # of a build killed outright (kill -9)
  per_shard = int(math.ceil(len(examples) / float(num_shards)))
  paths = [shard_filename(output_dir, split, shard, num_shards)
           for shard in range(num_shards)]
  temps = [partial_filename(path) for path in paths]
  try:
    with ProgressBar(len(examples), prefix=split, stream=stream) as bar:
      for shard, temp in enumerate(temps):
        with tf.io.TFRecordWriter(temp) as writer:
          for name, image_path, label_path in examples[
              shard * per_shard:(shard + 1) * per_shard]:
            example = make_example(name, image_path, label_path)
            # Deterministic: two builds of the same files are the same bytes.
            writer.write(example.SerializeToString(deterministic=True))
            bar.update()
  except BaseException:
    for temp in temps:
      if os.path.exists(temp):
        os.remove(temp)
    raise
  for temp, path in zip(temps, paths):
    os.replace(temp, path)
  stale = [p for p in _shards_of(output_dir, split)[0] if p not in paths]
  for path in stale:
    os.remove(path)
  stream.write('%s: %d examples in %d shards under %s%s\n'
               % (split, len(examples), num_shards, output_dir,
                  ' (%d shard(s) of an earlier build removed)' % len(stale)
                  if stale else ''))
  return paths


def read_list(path):
  """Names listed one per line in `path` (blank lines skipped)."""
  if not os.path.isfile(path):
    raise BuildError('list file not found: %s' % path)
  with open(path) as handle:
    return [line.strip() for line in handle if line.strip()]


class BuildInterrupted(Exception):
  """SIGTERM arrived during a build."""


def _raise_interrupted(signum, unused_frame):
  raise BuildInterrupted(signum)


def run_main(main, argv=None):
  """Runs a builder's main(argv), turning BuildError into a one-line error
  on stderr and exit status 1, and SIGTERM into a clean stop (no partial
  shard left, earlier shards kept) with status 143."""
  previous = signal.signal(signal.SIGTERM, _raise_interrupted)
  try:
    return main(argv)
  except BuildError as error:
    sys.stderr.write('error: %s\n' % error)
    return 1
  except BuildInterrupted as stop:
    sys.stderr.write('error: interrupted by signal %d; the split being '
                     'written was left as it was before this build\n'
                     % stop.args[0])
    return 128 + stop.args[0]
  finally:
    signal.signal(signal.SIGTERM, previous)
