"""A checkpoint exported for deployment (tools/export_model.py).

One graph, built as test.py and predict.py build theirs, maps an image to
its labels::

    ImageTensor:0          uint8 [1, H, W, 3], any H x W up to the
                           export size (eval_crop_size)
    SemanticPredictions:0  int32 [1, H, W], class ids at the image's size

Inside, the image is preprocessed as in evaluation (resize to range when
configured, padding to the export size with the backbone's mean pixel), the
model predicts at the export size (``eval_scales``, ``add_flipped_images``
as configured) and the labels of the padding are cut off (and resized back
when the preprocessing resized).  An image larger than the export size
fails with an error naming both sizes.  The tensor names are DeepLab's, so
DeepLab's demo code runs the frozen graph.  The formats:

* ``saved_model``: ``saved_model/`` with the serving signature
  ``serving_default``: input ``image`` (uint8) -> output ``labels`` (int32).
* ``frozen``: ``frozen_inference_graph.pb``, variables as constants.
* ``tflite``: ``model.tflite`` (TensorFlow 2.x), the same input and output;
  call ``resize_tensor_input`` with the image's shape before
  ``allocate_tensors``.
"""
import json
import os
import shutil

import tensorflow.compat.v1 as tf

from libs.datasets import input_preprocess
from li_models import registry
from li_programs.evaluate import evaluation
from li_programs.checkpoints import train_checkpoints

INPUT_NAME = 'ImageTensor'
OUTPUT_NAME = 'SemanticPredictions'
SIGNATURE_KEY = 'serving_default'
SIGNATURE_INPUT = 'image'
SIGNATURE_OUTPUT = 'labels'

SAVED_MODEL = 'saved_model'
FROZEN = 'frozen'
TFLITE = 'tflite'
FORMATS = (SAVED_MODEL, FROZEN, TFLITE)
FILE_NAMES = {SAVED_MODEL: 'saved_model', FROZEN: 'frozen_inference_graph.pb',
              TFLITE: 'model.tflite'}
INFO_JSON = 'export.json'
CLASS_NAMES_TXT = 'class_names.txt'


class ExportError(ValueError):
  """A format cannot be exported (one-line message)."""


def parse_formats(text):
  """``'saved_model,frozen'`` -> the formats, checked."""
  formats = [f.strip() for f in text.split(',') if f.strip()]
  unknown = [f for f in formats if f not in FORMATS]
  if unknown or not formats:
    raise ExportError('--formats takes a comma list of %s, got %r'
                      % (', '.join(FORMATS), text))
  return formats


def build_export_graph(cfg, num_classes, export_size, lite=False):
  """Builds ImageTensor -> SemanticPredictions in the default graph.

  Returns:
    ``(image, labels)``.
  """
  height, width = [int(d) for d in export_size]
  image = tf.placeholder(tf.uint8, [1, None, None, 3], name=INPUT_NAME)
  original = image[0]
  size = tf.shape(original)[:2]
  resizes = bool(cfg.min_resize_value or cfg.max_resize_value)

  def fits(shape):
    return tf.assert_less_equal(
        shape, tf.constant([height, width]),
        message='image larger than the export size %dx%d (HxW); export '
                'again with --eval_crop_size at least its size'
                % (height, width))

  if not resizes:  # checked first, so that this is the error one sees
    with tf.control_dependencies([fits(size)]):
      original = tf.identity(original)
  resized, processed, _ = input_preprocess.preprocess_image_and_label(
      original, None, height, width,
      min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value,
      resize_factor=cfg.resize_factor, is_training=False,
      normalisation=registry.backbone(cfg.model_variant).normalisation)
  resized_size = tf.shape(resized)[:2]
  if resizes:
    with tf.control_dependencies([fits(resized_size)]):
      processed = tf.identity(processed)
  processed.set_shape([height, width, 3])
  build_labels = evaluation.label_builder(
      cfg, num_classes, [height, width], evaluation.eval_scales_of(cfg),
      cfg.add_flipped_images, lite=lite)
  labels = build_labels(tf.expand_dims(processed, 0))
  labels = labels[:, :resized_size[0], :resized_size[1]]
  if resizes:
    labels = tf.image.resize_nearest_neighbor(
        tf.expand_dims(labels, 3), size, align_corners=True)[:, :, :, 0]
  labels = tf.identity(tf.cast(labels, tf.int32), name=OUTPUT_NAME)
  return image, labels


def _restored_session(graph, checkpoint, config_file, config):
  session = tf.Session(graph=graph, config=config)
  with graph.as_default():
    saver = tf.train.Saver(tf.global_variables())
    train_checkpoints.restore_checkpoint(session, saver, checkpoint,
                                         config_file=config_file)
  return session


def _fresh_path(path):
  if os.path.isdir(path):
    shutil.rmtree(path)
  elif os.path.exists(path):
    os.remove(path)
  return path


def export_saved_model(session, image, labels, path):
  builder = tf.saved_model.builder.SavedModelBuilder(_fresh_path(path))
  signature = tf.saved_model.signature_def_utils.predict_signature_def(
      inputs={SIGNATURE_INPUT: image}, outputs={SIGNATURE_OUTPUT: labels})
  builder.add_meta_graph_and_variables(
      session, [tf.saved_model.tag_constants.SERVING],
      signature_def_map={SIGNATURE_KEY: signature}, strip_default_attrs=True)
  builder.save()
  return path


def frozen_graph_def(session, labels):
  return tf.graph_util.convert_variables_to_constants(
      session, session.graph.as_graph_def(), [labels.op.name])


def export_frozen(session, labels, path):
  graph_def = frozen_graph_def(session, labels)
  temporary = path + '.tmp'
  with open(temporary, 'wb') as f:
    f.write(graph_def.SerializeToString())
  os.replace(temporary, path)
  return path


def export_tflite(session, image, labels, path):
  converter = tf.lite.TFLiteConverter.from_session(session, [image],
                                                   [labels])
  flatbuffer = converter.convert()
  temporary = path + '.tmp'
  with open(temporary, 'wb') as f:
    f.write(flatbuffer)
  os.replace(temporary, path)
  return path


def export(cfg, checkpoint, output_dir, formats, num_classes, class_names,
           session_config=None):
  """Writes every format of ``formats`` into ``output_dir``.

  Returns:
    ``{format: path}``.
  """
  export_size = [int(d) for d in cfg.eval_crop_size]
  os.makedirs(output_dir, exist_ok=True)
  written = {}
  # TensorFlow Lite gets the model variant it runs fastest (Winograd
  # layers, as test.py converts it); the other formats the session graph.
  for lite in (False, True):
    wanted = [f for f in formats if (f == TFLITE) == lite]
    if not wanted:
      continue
    graph = tf.Graph()
    with graph.as_default():
      image, labels = build_export_graph(cfg, num_classes, export_size,
                                         lite=lite)
    session = _restored_session(graph, checkpoint, cfg.config_file,
                                session_config)
    # The SavedModel builder saves the default graph.
    with session, graph.as_default():
      for name in wanted:
        path = os.path.join(output_dir, FILE_NAMES[name])
        if name == SAVED_MODEL:
          written[name] = export_saved_model(session, image, labels, path)
        elif name == FROZEN:
          written[name] = export_frozen(session, labels, path)
        else:
          written[name] = export_tflite(session, image, labels, path)
  with open(os.path.join(output_dir, CLASS_NAMES_TXT), 'w') as f:
    f.write(''.join(name + '\n' for name in class_names))
  info = {'checkpoint': checkpoint, 'config_file': cfg.config_file,
          'dataset': cfg.dataset, 'num_classes': num_classes,
          'max_image_size': export_size,
          'eval_scales': evaluation.eval_scales_of(cfg),
          'add_flipped_images': cfg.add_flipped_images,
          'input': '%s:0 uint8 [1, H, W, 3]' % INPUT_NAME,
          'output': '%s:0 int32 [1, H, W]' % OUTPUT_NAME,
          'files': {k: os.path.basename(v) for k, v in written.items()}}
  with open(os.path.join(output_dir, INFO_JSON), 'w') as f:
    json.dump(info, f, indent=2)
    f.write('\n')
  return written
