"""Input normalisation shared by the model and the input pipeline.

Every backbone except the plain (non-beta) ResNets expects pixels mapped to
[-1, 1] with ``x * 2 / 255 - 1``; the plain ResNets were trained on images with
the ImageNet mean RGB subtracted. The input pipeline pads images with the pixel
value that normalises to zero for the chosen backbone, so padding looks like
"no signal" to the network.
"""
import tensorflow.compat.v1 as tf

# Mean RGB of ImageNet used by the plain ResNet checkpoints.
MEAN_RGB = (123.15, 115.90, 103.06)

# Backbones whose inputs are mean-subtracted instead of scaled to [-1, 1].
MEAN_SUBTRACTED_VARIANTS = ('resnet_v1_50', 'resnet_v1_101')

KNOWN_MODEL_VARIANTS = (
    'mobilenet_v2', 'li_mobilenet_v2',
    'resnet_v1_50', 'resnet_v1_50_beta', 'li_resnet_v1_50_beta',
    'resnet_v1_101', 'resnet_v1_101_beta', 'li_resnet_v1_101_beta',
)


def _check_variant(model_variant):
  if model_variant is not None and model_variant not in KNOWN_MODEL_VARIANTS:
    raise ValueError('model_variant %r is not known; allowed values: %s'
                     % (model_variant, ', '.join(KNOWN_MODEL_VARIANTS)))


def uses_mean_subtraction(model_variant):
  """True when `model_variant` normalises by subtracting MEAN_RGB."""
  _check_variant(model_variant)
  return model_variant in MEAN_SUBTRACTED_VARIANTS


def mean_pixel(model_variant=None):
  """Returns the RGB pixel (list of 3 floats) that normalises to zero.

  Args:
    model_variant: backbone name, or None for the default [-1, 1] scaling.

  Raises:
    ValueError: unknown model_variant.
  """
  if uses_mean_subtraction(model_variant):
    return list(MEAN_RGB)
  return [127.5, 127.5, 127.5]


def normalize_images(images, model_variant=None):
  """Normalises a float or integer image tensor [..., C] for `model_variant`.

  For the plain ResNets the mean RGB is subtracted from the first three
  channels and extra channels (C > 3) are left unchanged; every other variant
  maps [0, 255] to [-1, 1].
  """
  images = tf.cast(images, tf.float32)
  if not uses_mean_subtraction(model_variant):
    return images * (2.0 / 255.0) - 1.0
  mean = tf.constant(MEAN_RGB, dtype=tf.float32)
  extra_channels = tf.maximum(tf.shape(images)[-1] - len(MEAN_RGB), 0)
  mean = tf.pad(mean, [[0, extra_channels]])
  return images - mean
