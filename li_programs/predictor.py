"""Predict labels of your own images with a trained checkpoint.

    from li_programs.predictor import Predictor

    with Predictor.from_config('config/CelebAMask_HQ/liMnv2_liAspp.ini',
                               'model.ckpt-1000') as p:
      labels = p.predict(image)   # HxWx3 uint8 -> HxW int32 class ids
      print(p.class_names[labels[0, 0]])

The labels are test.py's: the image goes through the evaluation
preprocessing of the config's ``[test]`` section (resize to range when
configured, padding with the backbone's mean pixel), the model is the one
test.py builds (``eval_scales``, ``add_flipped_images``, ``output_stride``,
``atrous_rates``, ``inference_engine``), and the labels of the padding are
cut off again (and resized back, nearest neighbour, when the
preprocessing resized the image).

Any image size works without choosing a crop: an image is padded to
``eval_crop_size`` as in test.py, or, when larger, to the next size of the
form ``k * output_stride + 1`` above it.  The model is built (and, under
TensorFlow Lite, converted) once per padded size; the last few sizes stay
ready.
"""
import collections

import numpy as np
import tensorflow.compat.v1 as tf

from libs.datasets import input_preprocess
from libs.datasets import preprocess_utils
from li_models import registry
from li_programs.checkpoints import checkpoint_check
from li_programs.config import cli
from li_programs.config import config as config_lib
from li_programs.config import dataset_info
from li_programs.evaluate import evaluation
from li_programs.runtime import inference_engine
from li_programs.report import result_files
from li_programs.runtime import run_folders
from li_programs.runtime import session_config
from li_programs.checkpoints import train_checkpoints

# Padded sizes whose model stays built.
_CACHED_SIZES = 4


def flags_from_overrides(overrides):
  """``{'eval_scales': [0.75, 1.0], 'add_flipped_images': True}`` ->
  command-line flags of the config options."""
  flags = []
  for name, value in sorted(overrides.items()):
    if isinstance(value, bool):
      value = 'true' if value else 'false'
    elif isinstance(value, (list, tuple)):
      value = ','.join(str(v) for v in value)
    elif value is None:
      value = 'none'
    flags.append('--%s=%s' % (name, value))
  return flags


def padded_size(size, crop, output_stride):
  """The model input for an image of ``size`` (after any resize): at least
  ``crop`` (as test.py pads), else ``k * output_stride + 1``."""
  out = []
  for dim, floor in zip(size, crop):
    if dim <= floor:
      out.append(int(floor))
    else:
      out.append(((int(dim) - 2) // output_stride + 1) * output_stride + 1)
  return tuple(out)


def resize_nearest(labels, size):
  """Nearest-neighbour resize of a ``[h, w]`` map to ``size`` with corners
  aligned (as the preprocessing resizes label maps)."""
  labels = np.asarray(labels)
  indices = []
  for out, inp in zip(size, labels.shape):
    scale = (inp - 1) / float(out - 1) if out > 1 else 0.0
    indices.append(np.minimum(np.floor(np.arange(out) * scale + 0.5),
                              inp - 1).astype(np.int64))
  return labels[indices[0][:, None], indices[1][None, :]]


class _SessionModel(object):
  """The model in TensorFlow on a float placeholder (inference_engine
  session); the interface of tflite_predictor.TflitePredictor."""

  engine = inference_engine.SESSION

  def __init__(self, build_labels, image_shape, config):
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._images = tf.placeholder(tf.float32, image_shape, name='images')
      self._labels = build_labels(self._images)
      self._saver = tf.train.Saver(tf.global_variables())
    self._session = tf.Session(graph=self._graph, config=config)

  def restore(self, checkpoint, config_file=None):
    # In the graph's context: a TensorFlow 2.x process may be eager.
    with self._graph.as_default():
      train_checkpoints.restore_checkpoint(self._session, self._saver,
                                           checkpoint, config_file=config_file)

  def predict(self, images):
    return self._session.run(self._labels, {self._images: images})

  def close(self):
    self._session.close()


class _SizedModel(object):
  """Preprocessing (its own small graph) and the model for one padded
  size."""

  def __init__(self, predictor, size):
    cfg = predictor.cfg
    self.size = size
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._image = tf.placeholder(tf.uint8, [None, None, 3], name='image')
      _, processed, _ = input_preprocess.preprocess_image_and_label(
          self._image, None, size[0], size[1],
          min_resize_value=cfg.min_resize_value,
          max_resize_value=cfg.max_resize_value,
          resize_factor=cfg.resize_factor, is_training=False,
          normalisation=predictor.normalisation)
      processed.set_shape([size[0], size[1], 3])
      self._processed = tf.expand_dims(processed, 0)
    self._session = tf.Session(graph=self._graph,
                               config=predictor.session_config)
    shape = [1, size[0], size[1], 3]
    lite = predictor.engine == inference_engine.TFLITE
    build_labels = evaluation.label_builder(
        cfg, predictor.num_classes, list(size), predictor.eval_scales,
        cfg.add_flipped_images, lite=lite)
    if lite:
      self.model = evaluation.tflite_model(cfg, build_labels, shape,
                                           predictor.program, quiet=True)
    else:
      self.model = _SessionModel(build_labels, shape,
                                 predictor.session_config)
    try:
      self.model.restore(predictor.checkpoint, config_file=cfg.config_file)
    except BaseException:
      self.close()
      raise

  def predict(self, image):
    processed = self._session.run(self._processed, {self._image: image})
    return np.asarray(self.model.predict(processed))[0]

  def close(self):
    self._session.close()
    self.model.close()


class Predictor(object):
  """A checkpoint ready to label images (see the module docstring).

  Attributes:
    class_names: one name per label value (libs/datasets/dataset_classes.py
      or the config's ``class_names``).
    palette: uint8 ``[256, 3]`` colours of the label values.
    checkpoint, cfg, engine, num_classes, ignore_label, eval_scales.
  """

  def __init__(self, cfg, checkpoint, program='predictor', num_images=None):
    """``num_images``: how many images the caller will label, when known;
    ``inference_engine = auto`` then chooses as test.py does for a split of
    that length (unknown: TensorFlow Lite wherever it can run)."""
    self.cfg = cfg
    self.program = program
    descriptor = dataset_info.descriptor_of(cfg)
    self.num_classes = descriptor.num_classes
    self.ignore_label = descriptor.ignore_label
    self.class_names = dataset_info.class_names_of(cfg, descriptor)
    self.palette = dataset_info.palette_of(cfg, descriptor)
    if not train_checkpoints.checkpoint_exists(checkpoint):
      raise checkpoint_check.CheckpointError(
          'checkpoint %s not found (no %s.index)' % (checkpoint, checkpoint))
    self.checkpoint = checkpoint
    self.eval_scales = evaluation.eval_scales_of(cfg)
    self.crop = [int(d) for d in cfg.eval_crop_size]
    work = None if num_images is None else inference_engine.workload(
        num_images, cfg.model_variant, self.crop, self.eval_scales,
        cfg.add_flipped_images)
    self.engine, self.engine_reason = inference_engine.resolve_with_reason(
        cfg.inference_engine, work)
    self.normalisation = registry.backbone(cfg.model_variant).normalisation
    self.session_config = session_config.session_config_from(cfg)
    self._models = collections.OrderedDict()
    self._sizer = None

  @classmethod
  def from_config(cls, config_file, checkpoint_path=None, **overrides):
    """A Predictor for ``config_file`` (its ``[test]`` settings).

    Args:
      config_file: an INI config (a relative path is also looked up from
        the repository root).
      checkpoint_path: the checkpoint; default: as test.py chooses it
        (``checkpoint_path`` / ``checkpoint_name`` of the config, else the
        best one scored by validate.py).
      **overrides: config options, as their flags would give them
        (``eval_scales=[0.75, 1.0]``, ``inference_engine='session'``).
    """
    flags = flags_from_overrides(overrides)
    if checkpoint_path:
      flags.append('--checkpoint_path=%s' % checkpoint_path)
    cfg = config_lib.load_config(cli.resolve_config_file(config_file),
                                 'test', flags, notify=None)
    return cls(cfg, resolve_checkpoint(cfg))

  def _resized_size(self, height, width):
    cfg = self.cfg
    if not (cfg.min_resize_value or cfg.max_resize_value):
      return height, width
    if self._sizer is None:
      graph = tf.Graph()
      with graph.as_default():
        size_in = tf.placeholder(tf.int32, [2])
        size_out = preprocess_utils.compute_resized_size(
            size_in[0], size_in[1], cfg.min_resize_value,
            cfg.max_resize_value, cfg.resize_factor)
      self._sizer = (tf.Session(graph=graph), size_in, size_out)
    session, size_in, size_out = self._sizer
    resized = session.run(size_out, {size_in: [height, width]})
    return int(resized[0]), int(resized[1])

  def _model_for(self, size):
    model = self._models.pop(size, None)
    if model is None:
      if len(self._models) >= _CACHED_SIZES:
        _, oldest = self._models.popitem(last=False)
        oldest.close()
      model = _SizedModel(self, size)
    self._models[size] = model
    return model

  @staticmethod
  def as_rgb(image):
    """An ``HxWx3`` uint8 array of ``image`` (grey ``HxW`` / ``HxWx1``
    repeated, the alpha of ``HxWx4`` dropped)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
      image = image[:, :, 0]
    if image.ndim == 2:
      image = np.stack([image] * 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
      raise ValueError('Predictor.predict needs an HxWx3 image (or HxW, '
                       'HxWx4), got shape %s' % (image.shape,))
    if image.dtype != np.uint8:
      raise ValueError('Predictor.predict needs uint8 pixels 0..255, got %s'
                       % image.dtype)
    if min(image.shape[:2]) < 1:
      raise ValueError('Predictor.predict got an empty image %s'
                       % (image.shape,))
    return np.ascontiguousarray(image[:, :, :3])

  def predict(self, image):
    """``HxW`` int32 class ids of an ``HxWx3`` uint8 image, at its size."""
    image = self.as_rgb(image)
    height, width = image.shape[:2]
    resized = self._resized_size(height, width)
    size = padded_size(resized, self.crop, self.cfg.output_stride)
    labels = self._model_for(size).predict(image)
    labels = labels[:resized[0], :resized[1]].astype(np.int32)
    if resized != (height, width):
      labels = resize_nearest(labels, (height, width))
    return labels

  @property
  def engines_used(self):
    """The engines of the models built so far ('tflite', 'session')."""
    return sorted({m.model.engine for m in self._models.values()})

  def close(self):
    for model in self._models.values():
      model.close()
    self._models.clear()
    if self._sizer is not None:
      self._sizer[0].close()
      self._sizer = None

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc):
    self.close()


def resolve_checkpoint(cfg):
  """The checkpoint test.py would test for ``cfg`` (its path)."""
  path, _ = result_files.resolve_test_checkpoint(
      cfg, run_folders.program_dirs(cfg))
  return path
