"""Input normalisation shared by the model and the input pipeline.

Every backbone except the plain (non-beta) ResNets expects pixels mapped to
[-1, 1] with ``x * 2 / 255 - 1`` ('unit_range'); the plain ResNets were
trained on images with the ImageNet mean RGB subtracted ('mean_rgb').  The
input pipeline pads images with the pixel value that normalises to zero for
the chosen backbone, so padding looks like "no signal" to the network.
"""
import tensorflow.compat.v1 as tf

# Mean RGB of ImageNet used by the plain ResNet checkpoints.
MEAN_RGB = (123.15, 115.90, 103.06)

# 'unit_range': [0, 255] -> [-1, 1]; 'mean_rgb': MEAN_RGB subtracted.  The
# model registry (li_models/registry.py) says which one each backbone uses.
NORMALISATIONS = ('unit_range', 'mean_rgb')


def _check(normalisation):
  if normalisation not in NORMALISATIONS:
    raise ValueError('normalisation %r is not known; allowed values: %s'
                     % (normalisation, ', '.join(NORMALISATIONS)))


def mean_pixel(normalisation='unit_range'):
  """Returns the RGB pixel (list of 3 floats) that normalises to zero.

  Raises:
    ValueError: unknown normalisation.
  """
  _check(normalisation)
  if normalisation == 'mean_rgb':
    return list(MEAN_RGB)
  return [127.5, 127.5, 127.5]


def normalize_images(images, normalisation='unit_range'):
  """Normalises a float or integer image tensor [..., C].

  'mean_rgb' subtracts the mean RGB from the first three channels and leaves
  extra channels (C > 3) unchanged; 'unit_range' maps [0, 255] to [-1, 1].
  """
  _check(normalisation)
  images = tf.cast(images, tf.float32)
  if normalisation == 'unit_range':
    return images * (2.0 / 255.0) - 1.0
  mean = tf.constant(MEAN_RGB, dtype=tf.float32)
  extra_channels = tf.maximum(tf.shape(images)[-1] - len(MEAN_RGB), 0)
  mean = tf.pad(mean, [[0, extra_channels]])
  return images - mean
