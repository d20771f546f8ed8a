"""DeepLab-style preprocessing of one (image, label) example.

Training: optional resize to range, random scale, pad to the crop (image with
the backbone's mean pixel, label with the ignore label), random crop, random
left-right flip. Evaluation: optional resize to range and padding up to the
crop size only; nothing is ever cropped away, so an image larger than the crop
keeps its size.
"""
import tensorflow.compat.v1 as tf

from libs.core.input_normalization import mean_pixel
from libs.datasets import preprocess_utils

# Probability of a left-right flip during training.
_PROB_OF_FLIP = 0.5


def _offset_seed(seed, offset):
  """An op seed distinct from ``seed`` (random ops sharing one op seed
  would draw the same numbers)."""
  return None if seed is None else seed + offset


def preprocess_image_and_label(image,
                               label,
                               crop_height,
                               crop_width,
                               min_resize_value=None,
                               max_resize_value=None,
                               resize_factor=None,
                               min_scale_factor=1.,
                               max_scale_factor=1.,
                               scale_factor_step_size=0,
                               ignore_label=255,
                               is_training=True,
                               normalisation='unit_range',
                               seed=None):
  """Preprocesses one example.

  Args:
    image: [H, W, 3] image tensor (any numeric dtype, values 0..255).
    label: [H, W, 1] integer label tensor, or None (evaluation only).
    crop_height, crop_width: crop size (training) / minimum size (eval).
    min_resize_value, max_resize_value, resize_factor: see
      preprocess_utils.resize_to_range; all None disables resizing.
    min_scale_factor, max_scale_factor, scale_factor_step_size: random scale
      augmentation (training only).
    ignore_label: value used for padded label pixels.
    is_training: training (random augmentation and crop) or evaluation.
    normalisation: the backbone's input normalisation ('unit_range' or
      'mean_rgb'), selects the padding pixel value.
    seed: optional op seed of the random operations; the scale, the crop
      offsets and the flip draw with seed, seed + 1, seed + 2 and seed + 3,
      so that their draws are independent of each other.

  Returns:
    (original_image, processed_image, label): original_image is the image
    after the optional resize and before padding; processed_image is float32
    [crop_height, crop_width, 3] in training; label is int32 or None.

  Raises:
    ValueError: label is None in training, or invalid crop/scale arguments.
  """
  if is_training and label is None:
    raise ValueError('preprocess_image_and_label: training needs a label')
  if int(crop_height) <= 0 or int(crop_width) <= 0:
    raise ValueError('crop size must be positive, got %r x %r'
                     % (crop_height, crop_width))
  crop_height, crop_width = int(crop_height), int(crop_width)
  pad_pixel = mean_pixel(normalisation)

  original_image = image
  processed_image = tf.cast(image, tf.float32)
  if label is not None:
    label = tf.cast(label, tf.int32)

  if min_resize_value or max_resize_value:
    processed_image, label = preprocess_utils.resize_to_range(
        processed_image, label, min_size=min_resize_value,
        max_size=max_resize_value, factor=resize_factor, align_corners=True)
    original_image = tf.identity(processed_image)

  if is_training:
    scale = preprocess_utils.get_random_scale(
        min_scale_factor, max_scale_factor, scale_factor_step_size, seed=seed)
    processed_image, label = preprocess_utils.randomly_scale_image_and_label(
        processed_image, label, scale)
    processed_image.set_shape([None, None, 3])

  image_shape = tf.shape(processed_image)
  target_height = tf.maximum(image_shape[0], crop_height)
  target_width = tf.maximum(image_shape[1], crop_width)
  processed_image = preprocess_utils.pad_to_bounding_box(
      processed_image, 0, 0, target_height, target_width, pad_pixel)
  if label is not None:
    label = preprocess_utils.pad_to_bounding_box(
        label, 0, 0, target_height, target_width, ignore_label)

  if is_training:
    processed_image, label = preprocess_utils.random_crop(
        [processed_image, label], crop_height, crop_width,
        seed=_offset_seed(seed, 1))
    processed_image, label, _ = preprocess_utils.flip_dim(
        [processed_image, label], _PROB_OF_FLIP, dim=1,
        seed=_offset_seed(seed, 3))
    processed_image.set_shape([crop_height, crop_width, 3])
    label.set_shape([crop_height, crop_width, 1])
  else:
    processed_image.set_shape([None, None, 3])
    if label is not None:
      label.set_shape([None, None, 1])
  return original_image, processed_image, label
