"""The evaluation graph and loop shared by validate.py and test.py.

``build_eval_graph`` builds the input pipeline (batch 1) and the model's
predictions at the evaluation scales, in the graph (``inference_engine =
session``) or converted to TensorFlow Lite (``tflite``, see
``inference_engine``); ``restore_model`` loads a checkpoint into either;
``run_evaluation`` makes one pass over the split and accumulates the
confusion matrix.
"""
import collections
import functools
import sys

import numpy as np
import tensorflow.compat.v1 as tf

from libs.core import progress
from libs.datasets import data_generator
from li_models import model
from li_models import model_config
from li_models import registry
from li_programs.config import dataset_info
from li_programs.runtime import inference_engine
from li_programs.runtime import input_errors
from li_programs.evaluate import metrics
from li_programs.runtime import session_config
from li_programs.evaluate import tflite_predictor
from li_programs.checkpoints import train_checkpoints


# files: the TFRecords read; output_stride: of the model (both for error
# messages); predictor: the TflitePredictor under inference_engine tflite,
# when the fetches hold no 'prediction' and saver is None.
EvalGraph = collections.namedtuple(
    'EvalGraph', ['iterator', 'fetches', 'saver', 'num_samples',
                  'num_classes', 'ignore_label', 'files', 'output_stride',
                  'predictor'],
    defaults=((), None, None))


def eval_scales_of(cfg):
  """``eval_scales_replace`` (when given) replaces ``eval_scales``."""
  scales = getattr(cfg, 'eval_scales_replace', None) or cfg.eval_scales
  scales = [float(s) for s in (scales or [1.0])]
  if any(s <= 0 for s in scales):
    raise ValueError('eval_scales must be positive, got %s' % scales)
  return scales


def build_predictions(images, model_options, eval_scales=(1.0,),
                      add_flipped_images=False, image_pyramid=None):
  """Int32 labels ``[B, H, W]`` of the eval graph: single scale through
  ``predict_labels`` (with the model's ``image_pyramid``, as the original),
  otherwise ``predict_labels_multi_scale``."""
  if list(eval_scales) == [1.0] and not add_flipped_images:
    predictions = model.predict_labels(images, model_options,
                                       image_pyramid=image_pyramid)
  else:
    predictions = model.predict_labels_multi_scale(
        images, model_options, eval_scales=tuple(eval_scales),
        add_flipped_images=add_flipped_images)
  return predictions['semantic']


def label_builder(cfg, num_classes, crop, eval_scales, add_flipped_images,
                  lite=False):
  """``fn(images) -> labels``: the evaluation model of ``cfg`` for
  ``crop``-sized batch-1 input, as test.py builds it (``lite``: the variant
  built for TensorFlow Lite)."""
  model_options = model_config.model_options_from_config(
      cfg, num_classes, crop)
  if lite:
    # XNNPACK runs direct 3x3 convolutions near the machine's peak; Winograd
    # needs fewer multiplications (libs/core/winograd.py), for more memory.
    model_options = model_options._replace(
        winograd=bool(getattr(cfg, 'winograd', False)))
  return functools.partial(
      build_predictions, model_options=model_options,
      eval_scales=eval_scales, add_flipped_images=add_flipped_images,
      image_pyramid=getattr(cfg, 'image_pyramid', None))


def tflite_model(cfg, build_lite_labels, image_shape, program, quiet=False):
  """The TflitePredictor of the evaluating programs for float32 input of
  ``image_shape`` (falls back to TensorFlow under ``auto``); prints which
  engine runs unless ``quiet``."""
  threads = inference_engine.interpreter_threads(cfg.intra_op_threads)
  note = functools.partial(_note, program)
  predictor = tflite_predictor.TflitePredictor(
      build_lite_labels, image_shape, tf.float32, threads,
      fall_back=cfg.inference_engine == inference_engine.AUTO, note=note,
      config=session_config.session_config_from(cfg))
  if not quiet:
    note('note: inference on TensorFlow Lite (XNNPACK, %s threads); '
         '--inference_engine=session runs it in TensorFlow'
         % (threads or 'default'))
  return predictor


def build_eval_graph(cfg, split_name, eval_scales, add_flipped_images,
                     engine=None, program='eval'):
  """Input pipeline (batch 1, no crop loss) + predictions + a Saver.

  Must be called inside the graph to fill. The fetches dict holds
  'prediction' [1, H, W], 'label' [1, H, W, 1], 'image', 'original_image',
  'image_name'; under the tflite engine (``engine``, default: resolved
  from ``cfg.inference_engine`` and the split's length), 'prediction' is
  added by ``run_evaluation`` and the model lives in
  ``EvalGraph.predictor``.
  ``program`` names the caller in the notes it prints.
  """
  crop = list(cfg.eval_crop_size)
  dataset = data_generator.Dataset(
      dataset_name=cfg.dataset, split_name=split_name,
      dataset_dir=cfg.dataset_dir, batch_size=1, crop_size=crop,
      min_resize_value=cfg.min_resize_value,
      max_resize_value=cfg.max_resize_value, resize_factor=cfg.resize_factor,
      normalisation=registry.backbone(cfg.model_variant).normalisation,
      is_training=False,
      should_shuffle=False, should_repeat=False,
      descriptor=dataset_info.descriptor_of(cfg))
  if engine is None:
    engine, why = inference_engine.resolve_with_reason(
        cfg.inference_engine, inference_engine.workload(
            dataset.num_samples, cfg.model_variant, crop, eval_scales,
            add_flipped_images))
    if why:
      _note(program, 'note: ' + why)
  iterator = dataset.get_initializable_iterator()
  samples = iterator.get_next()
  images = samples['image']
  images.set_shape([1, crop[0], crop[1], 3])
  fetches = {'label': samples['label'], 'image': images,
             'image_name': samples['image_name']}
  if 'original_image' in samples:
    fetches['original_image'] = samples['original_image']
  saver = predictor = None
  lite = engine == inference_engine.TFLITE
  build_labels = label_builder(cfg, dataset.num_of_classes, crop,
                               eval_scales, add_flipped_images, lite=lite)
  if lite:
    predictor = tflite_model(cfg, build_labels, images.shape, program)
  else:
    fetches['prediction'] = build_labels(images)
    saver = tf.train.Saver(tf.global_variables())
  return EvalGraph(iterator, fetches, saver, dataset.num_samples,
                   dataset.num_of_classes, dataset.ignore_label,
                   tuple(dataset.files), cfg.output_stride, predictor)


def engine_of(graph):
  """The engine that ran the model of EvalGraph ``graph`` at its last
  restore: 'session', or 'tflite' (unless it fell back to TensorFlow)."""
  if graph.predictor is None:
    return inference_engine.SESSION
  return graph.predictor.engine


def _note(program, message):
  sys.stderr.write('%s: %s\n' % (program, message))
  sys.stderr.flush()


def restore_model(sess, graph, checkpoint, config_file=None):
  """Loads ``checkpoint`` into the model of EvalGraph ``graph``.

  ``sess`` holds the graph's session (unused under the tflite engine, whose
  model has a graph of its own).  Raises what
  ``train_checkpoints.restore_checkpoint`` raises.
  """
  if graph.predictor is not None:
    graph.predictor.restore(checkpoint, config_file=config_file)
  else:
    train_checkpoints.restore_checkpoint(sess, graph.saver, checkpoint,
                                         config_file=config_file)


def fetch_sample(sess, graph):
  """The next image's fetches, with its 'prediction' whichever engine runs
  the model.  Raises what ``sess.run`` raises (OutOfRangeError at the end of
  the split)."""
  out = sess.run(graph.fetches)
  if graph.predictor is not None:
    out['prediction'] = graph.predictor.predict(out['image'])
  return out


def progress_bar(total, desc=''):
  """A progress bar counting images, with the rate in images/s."""
  class _ImagesBar(progress.ProgressBar):

    def format(self):
      return super(_ImagesBar, self).format().replace(' it/s', ' images/s')

  return _ImagesBar(total, prefix=desc)


def _image_name(out):
  name = out['image_name'][0]
  return name.decode('utf-8', 'replace') if isinstance(name, bytes) else name


def run_evaluation(sess, graph, desc='eval', per_image=False,
                   on_sample=None):
  """Runs one pass over the split and accumulates the confusion matrix.

  Args:
    sess: session holding the restored variables.
    graph: EvalGraph.
    per_image: also return each image's mIoU and name.
    on_sample: optional ``fn(index, fetched_numpy_dict)`` (plots).

  Returns:
    ``(hist, image_mious, image_names)`` (the last two empty unless
    per_image).
  """
  sess.run(graph.iterator.initializer)
  n = graph.num_classes
  hist = np.zeros((n, n), dtype=np.int64)
  scored = metrics.num_scored_classes(n, graph.ignore_label)
  mious, names = [], []
  bar = progress_bar(graph.num_samples, desc)
  index = 0
  try:
    while True:
      try:
        out = fetch_sample(sess, graph)
      except tf.errors.OutOfRangeError:
        break
      except tf.errors.OpError as err:
        explained = input_errors.from_pipeline_error(err, graph.files,
                                                     graph.output_stride)
        if explained is None:
          raise
        raise explained from err
      try:
        image_hist = metrics.confusion_matrix(
            out['label'], out['prediction'], n, graph.ignore_label)
      except ValueError as err:
        raise ValueError('image %r: %s' % (_image_name(out), err)) from err
      hist += image_hist
      if per_image:
        mious.append(metrics.metrics_from_hist(image_hist, scored).miou)
        name = out['image_name'][0]
        names.append(name.decode('utf-8', 'replace')
                     if isinstance(name, bytes) else str(name))
      if on_sample is not None:
        on_sample(index, out)
      index += 1
      bar.update(1)
  finally:
    bar.close()
  return hist, mious, names
