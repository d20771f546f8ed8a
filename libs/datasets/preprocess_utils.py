"""Tensor-level image/label operations used by the input preprocessing.

All functions work on single examples [H, W, C] (no batch dimension). Images
are resized bilinearly and labels with nearest neighbour, both with
``align_corners=True``, so that a label stays attached to the pixel it
describes.
"""
import tensorflow.compat.v1 as tf


def _pair_shape(tensor):
  shape = tf.shape(tensor)
  return shape[0], shape[1]


def pad_to_bounding_box(image, offset_height, offset_width, target_height,
                        target_width, pad_value):
  """Pads `image` [H, W, C] into a [target_height, target_width, C] canvas.

  Unlike tf.image.pad_to_bounding_box the padding value can be any scalar or
  per-channel vector (e.g. the mean pixel, or the ignore label).
  """
  image = tf.convert_to_tensor(image)
  height, width = _pair_shape(image)
  bottom = target_height - offset_height - height
  right = target_width - offset_width - width
  checks = [
      tf.assert_non_negative(
          bottom, message='target height < image height + offset'),
      tf.assert_non_negative(
          right, message='target width < image width + offset'),
  ]
  with tf.control_dependencies(checks):
    paddings = tf.stack([[offset_height, bottom], [offset_width, right],
                         [0, 0]])
  pad_value = tf.cast(tf.convert_to_tensor(pad_value), image.dtype)
  # Shift so that padding with zeros yields pad_value, then shift back; this
  # works for scalar and per-channel values alike.
  padded = tf.pad(image - pad_value, paddings) + pad_value
  return padded


def random_crop(tensors, crop_height, crop_width, seed=None):
  """Crops the same random window out of every tensor in `tensors`.

  All tensors must be [H, W, C] with the same H and W, at least as large as
  the crop (pad them first).
  """
  if not tensors:
    raise ValueError('random_crop needs at least one tensor')
  height, width = _pair_shape(tensors[0])
  checks = [
      tf.assert_greater_equal(
          height, crop_height, message='crop height is larger than the image'),
      tf.assert_greater_equal(
          width, crop_width, message='crop width is larger than the image'),
  ]
  for other in tensors[1:]:
    other_height, other_width = _pair_shape(other)
    checks.append(tf.assert_equal(
        other_height, height, message='random_crop: heights differ'))
    checks.append(tf.assert_equal(
        other_width, width, message='random_crop: widths differ'))
  with tf.control_dependencies(checks):
    offset_h = tf.random.uniform([], maxval=height - crop_height + 1,
                                 dtype=tf.int32, seed=seed)
    offset_w = tf.random.uniform([], maxval=width - crop_width + 1,
                                 dtype=tf.int32,
                                 seed=None if seed is None else seed + 1)
  crops = []
  for tensor in tensors:
    crop = tensor[offset_h:offset_h + crop_height,
                  offset_w:offset_w + crop_width, :]
    crop.set_shape([crop_height, crop_width, tensor.get_shape()[-1]])
    crops.append(crop)
  return crops


def flip_dim(tensors, prob=0.5, dim=1, seed=None):
  """Reverses all `tensors` along `dim` together with probability `prob`.

  Returns the (possibly) flipped tensors followed by the boolean flip flag.
  """
  do_flip = tf.less(tf.random.uniform([], seed=seed), prob)
  outputs = []
  for tensor in tensors:
    flipped = tf.cond(do_flip, lambda t=tensor: tf.reverse(t, [dim]),
                      lambda t=tensor: t)
    flipped.set_shape(tensor.get_shape())
    outputs.append(flipped)
  outputs.append(do_flip)
  return outputs


def get_random_scale(min_scale_factor, max_scale_factor, step_size, seed=None):
  """Draws a scale factor for data augmentation.

  step_size 0 draws uniformly from [min, max); otherwise one of
  ``int((max - min) / step + 1)`` evenly spaced scales from min to max is
  picked uniformly (``int`` truncates: min 0.5, max 2.0, step 0.4 gives the
  four scales 0.5, 1.0, 1.5, 2.0).

  Raises:
    ValueError: min_scale_factor < 0 or min_scale_factor > max_scale_factor.
  """
  if min_scale_factor < 0 or min_scale_factor > max_scale_factor:
    raise ValueError('min_scale_factor/max_scale_factor must satisfy '
                     '0 <= min <= max, got %r and %r'
                     % (min_scale_factor, max_scale_factor))
  if step_size < 0:
    raise ValueError('scale_factor_step_size must be >= 0, got %r' % step_size)
  if min_scale_factor == max_scale_factor:
    return tf.cast(min_scale_factor, tf.float32)
  if step_size == 0:
    return tf.random.uniform([], minval=min_scale_factor,
                             maxval=max_scale_factor, seed=seed)
  num_steps = int((max_scale_factor - min_scale_factor) / step_size + 1)
  scales = tf.linspace(float(min_scale_factor), float(max_scale_factor),
                       num_steps)
  index = tf.random.uniform([], maxval=num_steps, dtype=tf.int32, seed=seed)
  return scales[index]


def randomly_scale_image_and_label(image, label=None, scale=1.0):
  """Resizes image (bilinear) and label (nearest) by `scale`.

  The new size is floor(size * scale). A Python scale of 1.0 is a no-op.
  """
  if isinstance(scale, (int, float)) and scale == 1.0:
    return image, label
  height, width = _pair_shape(image)
  new_size = tf.cast(
      tf.floor(tf.cast(tf.stack([height, width]), tf.float32) * scale),
      tf.int32)
  image = tf.squeeze(tf.image.resize_bilinear(
      tf.expand_dims(image, 0), new_size, align_corners=True), [0])
  if label is not None:
    label = tf.squeeze(tf.image.resize_nearest_neighbor(
        tf.expand_dims(label, 0), new_size, align_corners=True), [0])
  return image, label


def lowered_max_size(max_size, factor):
  """The largest ``k * factor + 1`` strictly below ``max_size``.

  resize_to_range bounds the long side by this value (not by ``max_size``
  itself) when a factor is given: 257 -> 241 and 513 -> 497 for factor 16.
  """
  return max_size + (factor - (max_size - 1) % factor) % factor - factor


def round_up_to_factor(size, factor):
  """Rounds each entry of the int32 ``size`` up to ``k * factor + 1``."""
  return size + (factor - (size - 1) % factor) % factor


def compute_resized_size(height, width, min_size=None, max_size=None,
                         factor=None):
  """Size that resize_to_range produces, as int32 tensor [new_h, new_w].

  The short side is scaled to ``min_size``; if the long side then exceeds
  the maximum, the long side is scaled to the maximum instead. Sizes are
  rounded up (ceil), in float32 arithmetic (97 x 97 at maximum 241 gives
  242 before the factor rounding). With ``factor`` the maximum is first
  lowered to ``lowered_max_size(max_size, factor)`` and both sides are
  finally rounded up to ``k * factor + 1``. With only ``max_size``, images
  larger than it shrink and smaller ones keep their size.

  Measured with the original code: 512x683 at min = max = 257, factor 16
  -> 193x241; 256x256 and 1024x1024 -> 241x241; 97x97 -> 257x257; at 513:
  512x683 -> 385x497 and 97x97 -> 497x497.

  Args:
    height, width: Python numbers or scalar tensors.
    min_size, max_size, factor: Python numbers or None.
  """
  if min_size is None and max_size is None:
    raise ValueError('compute_resized_size needs min_size or max_size')
  if factor is not None and max_size is not None:
    max_size = lowered_max_size(max_size, factor)
  height_f = tf.cast(height, tf.float32)
  width_f = tf.cast(width, tf.float32)
  sizes = tf.stack([height_f, width_f])

  def ceil_size(scale):
    return tf.cast(tf.math.ceil(sizes * scale), tf.int32)

  if max_size is not None:
    max_f = tf.constant(float(max_size), tf.float32)
    small_size = ceil_size(max_f / tf.maximum(height_f, width_f))
  if min_size is not None:
    min_f = tf.constant(float(min_size), tf.float32)
    new_size = ceil_size(min_f / tf.minimum(height_f, width_f))
    if max_size is not None:
      too_large = tf.cast(tf.reduce_max(new_size), tf.float32) > max_f
      new_size = tf.cond(too_large, lambda: small_size, lambda: new_size)
  else:
    too_large = tf.maximum(height_f, width_f) > max_f
    new_size = tf.cond(too_large, lambda: small_size,
                       lambda: tf.cast(sizes, tf.int32))
  if factor is not None:
    new_size = round_up_to_factor(new_size, factor)
  return new_size


def resize_to_range(image, label=None, min_size=None, max_size=None,
                    factor=None, align_corners=True):
  """Resizes image (bilinear) and label (nearest) to the range given.

  See compute_resized_size for the size rule. Returns (image, label); the
  image becomes float32.
  """
  height, width = _pair_shape(image)
  new_size = compute_resized_size(height, width, min_size, max_size, factor)
  resized = tf.squeeze(tf.image.resize_bilinear(
      tf.expand_dims(tf.cast(image, tf.float32), 0), new_size,
      align_corners=align_corners), [0])
  resized.set_shape([None, None, image.get_shape()[-1]])
  if label is not None:
    label = tf.squeeze(tf.image.resize_nearest_neighbor(
        tf.expand_dims(label, 0), new_size, align_corners=align_corners), [0])
    label.set_shape([None, None, 1])
  return resized, label
