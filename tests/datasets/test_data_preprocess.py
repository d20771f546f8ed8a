"""Input normalisation and DeepLab preprocessing (crop / pad / scale / flip)."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from libs.core import input_normalization
from libs.datasets import input_preprocess, preprocess_utils
from li_models import registry

IGNORE = 255
# Label k is painted into the image as red value 20 * k, in 8x8 blocks, so the
# label of every image pixel can be read back from the image itself.
_STEP = 20.0


def _block_example(height, width, seed=0, block=8):
  rng = np.random.RandomState(seed)
  blocks = rng.randint(0, 10, size=(height // block + 1, width // block + 1))
  label = np.kron(blocks, np.ones((block, block), np.int64))[:height, :width]
  image = np.stack([label * _STEP, 255.0 - label * _STEP,
                    np.full(label.shape, 60.0)], axis=-1)
  return image.astype(np.uint8), label[..., None].astype(np.uint8)


def _label_from_image(image):
  return np.round(image[..., 0] / _STEP).astype(np.int64)


def _run_preprocess(image, label, runs, **kwargs):
  with tf.Graph().as_default():
    image_t = tf.constant(image)
    label_t = tf.constant(label)
    outputs = input_preprocess.preprocess_image_and_label(
        image_t, label_t, ignore_label=IGNORE, **kwargs)
    with tf.Session() as sess:
      return [sess.run(outputs) for _ in range(runs)]


def test_training_crop_and_flip_keep_image_and_label_aligned():
  image, label = _block_example(48, 56)
  results = _run_preprocess(image, label, runs=12, crop_height=33,
                            crop_width=33, is_training=True)
  first_columns = set()
  for _, out_image, out_label in results:
    assert out_image.shape == (33, 33, 3) and out_label.shape == (33, 33, 1)
    np.testing.assert_array_equal(_label_from_image(out_image),
                                  out_label[..., 0])
    assert IGNORE not in out_label  # the crop fits: no padding
    first_columns.add(out_image[:, 0, 0].tobytes())
  assert len(first_columns) > 3  # crops (and flips) really vary


def test_training_flip_is_applied_to_both():
  image, label = _block_example(33, 33)
  results = _run_preprocess(image, label, runs=16, crop_height=33,
                            crop_width=33, is_training=True)
  flipped = 0
  for _, out_image, out_label in results:
    np.testing.assert_array_equal(_label_from_image(out_image),
                                  out_label[..., 0])
    if np.array_equal(out_image, image[:, ::-1].astype(np.float32)):
      flipped += 1
    else:
      np.testing.assert_array_equal(out_image, image.astype(np.float32))
  assert 0 < flipped < 16


def test_training_pads_small_images_with_mean_and_ignore_label():
  image, label = _block_example(20, 25)
  for normalisation, pad in (('unit_range', [127.5] * 3),
                             ('mean_rgb', [123.15, 115.90, 103.06])):
    results = _run_preprocess(image, label, runs=6, crop_height=33,
                              crop_width=33, is_training=True,
                              normalisation=normalisation)
    for _, out_image, out_label in results:
      assert out_image.shape == (33, 33, 3)
      padded = out_label[..., 0] == IGNORE
      assert padded.sum() == 33 * 33 - 20 * 25
      np.testing.assert_allclose(out_image[padded],
                                 np.tile(pad, (padded.sum(), 1)), rtol=1e-6)
      valid = ~padded
      np.testing.assert_array_equal(_label_from_image(out_image)[valid],
                                    out_label[..., 0][valid])


def test_training_random_scale_keeps_alignment():
  image, label = _block_example(48, 48, seed=3)
  results = _run_preprocess(image, label, runs=10, crop_height=33,
                            crop_width=33, is_training=True,
                            min_scale_factor=0.5, max_scale_factor=2.0,
                            scale_factor_step_size=0.25)
  agree = total = 0
  for _, out_image, out_label in results:
    valid = out_label[..., 0] != IGNORE
    agree += np.sum(_label_from_image(out_image)[valid] ==
                    out_label[..., 0][valid])
    total += valid.sum()
  # Only pixels on block borders (bilinear mix) may disagree.
  assert total > 0 and agree / float(total) > 0.85


def test_eval_pads_but_never_crops():
  big_image, big_label = _block_example(40, 50)
  (original, out_image, out_label), = _run_preprocess(
      big_image, big_label, runs=1, crop_height=33, crop_width=33,
      is_training=False)
  assert out_image.shape == (40, 50, 3)
  np.testing.assert_array_equal(out_image, big_image.astype(np.float32))
  np.testing.assert_array_equal(out_label, big_label)
  np.testing.assert_array_equal(original, big_image)

  small_image, small_label = _block_example(20, 25)
  (_, out_image, out_label), = _run_preprocess(
      small_image, small_label, runs=1, crop_height=33, crop_width=41,
      is_training=False)
  assert out_image.shape == (33, 41, 3)
  np.testing.assert_array_equal(out_image[:20, :25], small_image)
  assert np.all(out_image[20:] == 127.5) and np.all(out_image[:, 25:] == 127.5)
  assert np.all(out_label[20:] == IGNORE)
  assert np.all(out_label[:, 25:] == IGNORE)


def test_eval_resize_to_range_sets_original_image():
  image, label = _block_example(40, 60)
  (original, out_image, out_label), = _run_preprocess(
      image, label, runs=1, crop_height=65, crop_width=65, is_training=False,
      min_resize_value=33, max_resize_value=65, resize_factor=16)
  # The maximum 65 is lowered to 49; short side 40 -> 33 makes the long
  # side ceil(49.5) = 50 > 49, so the long side goes to 49 instead:
  # 32.67 x 49 -> ceil 33 x 49, already of the form 16k + 1.
  assert original.shape == (33, 49, 3)
  assert out_image.shape == (65, 65, 3)
  assert set(np.unique(out_label[:33, :49])) <= set(np.unique(label))


def test_training_without_label_is_an_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='training needs a label'):
      input_preprocess.preprocess_image_and_label(
          tf.zeros([10, 10, 3]), None, 5, 5, is_training=True)


# Sizes measured with the original LI-Convs code (its older DeepLab
# resize_to_range), min = max resize value, factor 16 as in the ADE20K
# configs.
ORIGINAL_RESIZE_FIGURES = [
    ((512, 683), 257, (193, 241)),
    ((256, 256), 257, (241, 241)),
    ((1024, 1024), 257, (241, 241)),
    ((512, 683), 513, (385, 497)),
    ((97, 97), 513, (497, 497)),
    # float32: 97 * (241 / 97) = 241.00002 -> ceil 242 -> 16k + 1 = 257.
    ((97, 97), 257, (257, 257)),
]


def _resized_size(size, min_size, max_size, factor):
  with tf.Graph().as_default(), tf.Session() as sess:
    return tuple(sess.run(preprocess_utils.compute_resized_size(
        size[0], size[1], min_size, max_size, factor)))


@pytest.mark.parametrize('size, resize_value, expected',
                         ORIGINAL_RESIZE_FIGURES)
def test_resize_to_range_matches_the_original(size, resize_value, expected):
  assert _resized_size(size, resize_value, resize_value, 16) == expected


def test_lowered_max_size():
  assert preprocess_utils.lowered_max_size(257, 16) == 241
  assert preprocess_utils.lowered_max_size(513, 16) == 497
  assert preprocess_utils.lowered_max_size(250, 16) == 241
  assert preprocess_utils.lowered_max_size(258, 16) == 257


@pytest.mark.parametrize('size, min_size, max_size, factor, expected', [
    ((100, 200), 50, None, None, (50, 100)),
    ((100, 200), 50, 80, None, (40, 80)),
    # max 80 -> 73; 100 x 200 at 73/200 = 36.5 x 73 -> ceil 37 -> 41 x 73.
    ((100, 200), 50, 80, 8, (41, 73)),
    # 30 x 20 at 33/20: 49.5 x 33 -> ceil 50 -> 65 x 33 (max 100 -> 97).
    ((30, 20), 33, 100, 16, (65, 33)),
    ((30, 20), 33, 100, None, (50, 33)),
    ((300, 200), None, 150, None, (150, 100)),
    ((30, 20), None, 150, None, (30, 20)),
    ((30, 20), None, 150, 16, (33, 33)),
])
def test_compute_resized_size(size, min_size, max_size, factor, expected):
  assert _resized_size(size, min_size, max_size, factor) == expected


def _np_resize_bilinear_align_corners(image, out_h, out_w):
  in_h, in_w = image.shape[:2]
  ys = np.arange(out_h) * (in_h - 1) / float(out_h - 1)
  xs = np.arange(out_w) * (in_w - 1) / float(out_w - 1)
  y0 = np.floor(ys).astype(int)
  x0 = np.floor(xs).astype(int)
  y1 = np.minimum(y0 + 1, in_h - 1)
  x1 = np.minimum(x0 + 1, in_w - 1)
  dy = (ys - y0)[:, None, None]
  dx = (xs - x0)[None, :, None]
  image = image.astype(np.float64)
  top = image[y0][:, x0] * (1 - dx) + image[y0][:, x1] * dx
  bottom = image[y1][:, x0] * (1 - dx) + image[y1][:, x1] * dx
  return top * (1 - dy) + bottom * dy


def _np_resize_nearest_align_corners(label, out_h, out_w):
  in_h, in_w = label.shape[:2]
  # Halves round away from zero (C's roundf), not to even.
  ys = np.floor(np.arange(out_h) * (in_h - 1) / float(out_h - 1) + 0.5)
  xs = np.floor(np.arange(out_w) * (in_w - 1) / float(out_w - 1) + 0.5)
  ys, xs = ys.astype(int), xs.astype(int)
  return label[ys][:, xs]


@pytest.mark.parametrize('is_training', [False, True])
def test_resize_to_range_in_the_pipeline(is_training):
  """Training and evaluation resize alike: the image bilinearly and the
  label by nearest neighbour, both with aligned corners, to the original's
  size (12 x 16 at min = max = 33, factor 8 -> 25 x 25: max 33 -> 25, the
  long side 16 * 25 / 16 = 25, the short side ceil(18.75) = 19 -> 25)."""
  image, label = _block_example(12, 16, block=3)
  (original, out_image, out_label), = _run_preprocess(
      image, label, runs=1, crop_height=25, crop_width=25,
      is_training=is_training, min_resize_value=33, max_resize_value=33,
      resize_factor=8)
  want_image = _np_resize_bilinear_align_corners(image, 25, 25)
  want_label = _np_resize_nearest_align_corners(label, 25, 25)
  if is_training:  # random crop of the whole image and random flip
    if not np.allclose(out_image, want_image, atol=1e-3):
      want_image, want_label = want_image[:, ::-1], want_label[:, ::-1]
  else:
    np.testing.assert_allclose(original, want_image, atol=1e-3)
  np.testing.assert_allclose(out_image, want_image, atol=1e-3)
  np.testing.assert_array_equal(out_label, want_label)


def test_random_scale_values_and_errors():
  with pytest.raises(ValueError, match='min_scale_factor'):
    preprocess_utils.get_random_scale(2.0, 1.0, 0.25)
  with pytest.raises(ValueError, match='min_scale_factor'):
    preprocess_utils.get_random_scale(-0.5, 1.0, 0.25)
  with tf.Graph().as_default(), tf.Session() as sess:
    stepped = preprocess_utils.get_random_scale(0.5, 2.0, 0.25)
    uniform = preprocess_utils.get_random_scale(0.5, 2.0, 0)
    fixed = preprocess_utils.get_random_scale(1.5, 1.5, 0.25)
    values = [sess.run([stepped, uniform, fixed]) for _ in range(40)]
  steps = {round(v[0], 4) for v in values}
  assert steps <= {0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0} and len(steps) > 3
  assert all(0.5 <= v[1] <= 2.0 for v in values)
  assert all(v[2] == 1.5 for v in values)


def test_random_scale_grid_truncates_the_step_count():
  """int((2.0 - 0.5) / 0.4 + 1) = 4 scales, evenly spaced from min to
  max (rounding would give 5: 0.5, 0.875, ...)."""
  with tf.Graph().as_default(), tf.Session() as sess:
    scale = preprocess_utils.get_random_scale(0.5, 2.0, 0.4, seed=1)
    seen = {round(float(sess.run(scale)), 4) for _ in range(60)}
  assert seen == {0.5, 1.0, 1.5, 2.0}


def test_mean_pixel_and_normalize_images():
  assert input_normalization.mean_pixel() == [127.5] * 3
  assert input_normalization.mean_pixel('unit_range') == [127.5] * 3
  assert input_normalization.mean_pixel('mean_rgb') == [123.15, 115.90,
                                                        103.06]
  with pytest.raises(ValueError, match='allowed values'):
    input_normalization.mean_pixel('vgg16')
  # The registry gives each backbone its normalisation.
  assert registry.backbone('mobilenet_v2').normalisation == 'unit_range'
  assert registry.backbone('li_resnet_v1_50_beta').normalisation == (
      'unit_range')
  assert registry.backbone('resnet_v1_101').normalisation == 'mean_rgb'
  pixels = np.array([[[[0., 127.5, 255., 10.]]]], np.float32)
  with tf.Graph().as_default(), tf.Session() as sess:
    scaled = sess.run(input_normalization.normalize_images(
        pixels[..., :3], 'unit_range'))
    subtracted = sess.run(input_normalization.normalize_images(
        pixels, 'mean_rgb'))
  np.testing.assert_allclose(scaled[0, 0, 0], [-1.0, 0.0, 1.0], atol=1e-6)
  np.testing.assert_allclose(subtracted[0, 0, 0],
                             [-123.15, 127.5 - 115.90, 255 - 103.06, 10.0],
                             rtol=1e-5)
