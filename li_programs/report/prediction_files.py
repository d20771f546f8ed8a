"""The files predict.py reads and writes.

Input: ``--images`` names a file, a folder (its JPEG, PNG, BMP and GIF
files, not recursing) or a glob.  Images are decoded by TensorFlow, as the
evaluation input pipeline decodes the records' images (so the labels are
test.py's), to RGB: grey images are repeated over three channels, an alpha
channel is dropped, an animated GIF gives its first frame.

Output, per image ``<name>.<ext>``::

    <output_dir>/<name>.png           class ids (8-bit grey), the image's size
    <output_dir>/color/<name>.png     the class ids in the dataset's colours
    <output_dir>/overlay/<name>.jpg   the colours blended over the image

Two inputs with the same name stem (``a.jpg``, ``a.png``) keep their
extension in the output names (``a.jpg.png``, ``a.png.png``).
"""
import collections
import glob
import os

import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif')
COLOR_DIR = 'color'
OVERLAY_DIR = 'overlay'
OVERLAY_ALPHA = 0.5

InputImage = collections.namedtuple('InputImage', ['path', 'name'])


def _is_image(path):
  return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def find_images(spec):
  """The images ``spec`` names (file, folder or glob), sorted, with their
  output names.

  Raises:
    IOError: nothing there, or no image among the files.
  """
  spec = os.path.expanduser(spec)
  if os.path.isdir(spec):
    paths = [os.path.join(spec, n) for n in sorted(os.listdir(spec))]
    paths = [p for p in paths if os.path.isfile(p) and _is_image(p)]
    if not paths:
      raise IOError('--images: folder %s holds no %s file'
                    % (spec, '/'.join(e[1:] for e in IMAGE_EXTENSIONS)))
  elif os.path.isfile(spec):
    paths = [spec]
  else:
    paths = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
    if not paths:
      raise IOError('--images: no file, folder or glob match for %s' % spec)
    paths = [p for p in paths if _is_image(p)] or paths
  stems = collections.Counter(
      os.path.splitext(os.path.basename(p))[0] for p in paths)
  images = []
  for path in paths:
    base = os.path.basename(path)
    stem = os.path.splitext(base)[0]
    images.append(InputImage(path, stem if stems[stem] == 1 else base))
  return images


class ImageDecoder(object):
  """Decodes image files to ``HxWx3`` uint8 arrays with TensorFlow."""

  def __init__(self):
    import tensorflow.compat.v1 as tf
    from libs.datasets import data_generator
    self._tf = tf
    graph = tf.Graph()
    with graph.as_default():
      self._content = tf.placeholder(tf.string, [])
      self._image = data_generator.decode_image(self._content, channels=3)
    self._session = tf.Session(graph=graph)

  def decode(self, path):
    """Raises IOError naming ``path`` when it is unreadable or no image."""
    try:
      with open(path, 'rb') as f:
        content = f.read()
    except (IOError, OSError) as err:
      raise IOError('cannot read %s: %s'
                    % (path, err.strerror or err)) from err
    try:
      return self._session.run(self._image, {self._content: content})
    except self._tf.errors.OpError as err:
      message = (err.message or '').strip().splitlines()
      reason = message[0] if message else type(err).__name__
      raise IOError('cannot decode %s as an image (%s)'
                    % (path, reason)) from err

  def close(self):
    self._session.close()


def colorize(labels, palette):
  """``HxWx3`` uint8 colours of the label map."""
  return np.asarray(palette, np.uint8)[np.asarray(labels, np.int64)]


def overlay(image, colours, alpha=OVERLAY_ALPHA):
  """The colours blended over the image (``alpha`` of colour)."""
  blended = ((1.0 - alpha) * np.asarray(image, np.float32) +
             alpha * np.asarray(colours, np.float32))
  return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def _save(array, path, **kwargs):
  folder = os.path.dirname(path)
  if folder:
    os.makedirs(folder, exist_ok=True)
  temporary = path + '.tmp'
  Image.fromarray(array).save(temporary, format=kwargs.pop('format'),
                              **kwargs)
  os.replace(temporary, path)


def output_paths(output_dir, name):
  """``(labels, colour, overlay)`` paths of one image's outputs."""
  return (os.path.join(output_dir, name + '.png'),
          os.path.join(output_dir, COLOR_DIR, name + '.png'),
          os.path.join(output_dir, OVERLAY_DIR, name + '.jpg'))


def write_prediction(output_dir, name, image, labels, palette):
  """Writes the three files of one image; returns their paths."""
  labels = np.asarray(labels)
  if labels.min() < 0 or labels.max() > 255:
    raise ValueError('labels of %s lie outside 0..255' % name)
  paths = output_paths(output_dir, name)
  colours = colorize(labels, palette)
  _save(labels.astype(np.uint8), paths[0], format='PNG')
  _save(colours, paths[1], format='PNG')
  _save(overlay(image, colours), paths[2], format='JPEG', quality=90)
  return paths
