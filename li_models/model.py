"""DeepLabv3+ with lateral-inhibition backbones and DPNs: the model API.

Pipeline per input scale: backbone (``feature_extractor``) -> DPN (``dpn``)
-> optional decoder (``decoder``) -> 1x1 logits (``logits/<output>``).
Variables are shared across scales and flipped inputs (AUTO_REUSE), so the
graph of any call has the checkpoint's variable set exactly once.
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import utils
from li_models import decoder
from li_models import dpn
from li_models import feature_extractor
from li_models import model_options as mo

LOGITS_SCOPE_NAME = 'logits'
MERGED_LOGITS_SCOPE = 'merged_logits'
IMAGE_POOLING_SCOPE = dpn.IMAGE_POOLING_SCOPE
ASPP_SCOPE = 'aspp'
CONCAT_PROJECTION_SCOPE = dpn.CONCAT_PROJECTION_SCOPE
DECODER_SCOPE = decoder.DECODER_SCOPE
META_ARCHITECTURE_SCOPE = 'meta_architecture'
PROB_SUFFIX = '_prob'


def get_extra_layer_scopes(last_layers_contain_logits_only=False):
  """Scopes of the task-specific last layers.

  Used to skip them when initialising from a checkpoint of another task and
  to give them a larger learning rate.  Matching is by substring of the
  variable name, so 'aspp' also covers 'li_aspp/...'.
  """
  if last_layers_contain_logits_only:
    return [LOGITS_SCOPE_NAME]
  return [LOGITS_SCOPE_NAME, IMAGE_POOLING_SCOPE, ASPP_SCOPE,
          CONCAT_PROJECTION_SCOPE, DECODER_SCOPE, META_ARCHITECTURE_SCOPE]


def backbone_scope(model_variant):
  """Variable scope of the backbone of ``model_variant``, e.g. MobilenetV2."""
  return feature_extractor.backbone_scope(model_variant)


def extract_features(images, options, weight_decay=0.0001, reuse=None,
                     is_training=False, fine_tune_batch_norm=False):
  """Backbone followed by the DPN; returns (features, backbone end points)."""
  features, end_points = feature_extractor.extract_backbone_features(
      images, options, weight_decay=weight_decay, reuse=reuse,
      is_training=is_training, fine_tune_batch_norm=fine_tune_batch_norm)
  features = dpn.build_dpn(features, options, crop_size=options.crop_size,
                           weight_decay=weight_decay, reuse=reuse,
                           is_training=is_training,
                           fine_tune_batch_norm=fine_tune_batch_norm)
  return features, end_points


def get_branch_logits(features, num_classes, atrous_rates=None,
                      aspp_with_batch_norm=False, kernel_size=1,
                      weight_decay=0.0001, reuse=None, scope_suffix=''):
  """1x1 logits (summed over atrous rates for the DeepLab-v2 style head)."""
  if aspp_with_batch_norm or not atrous_rates:
    if kernel_size != 1:
      raise ValueError('logits_kernel_size must be 1 when aspp_with_batch_norm'
                       ' is set or there are no atrous_rates, got %r'
                       % kernel_size)
    atrous_rates = [1]
  with slim.arg_scope(
      [slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=tf.truncated_normal_initializer(stddev=0.01),
      reuse=reuse):
    with tf.variable_scope(LOGITS_SCOPE_NAME, LOGITS_SCOPE_NAME, [features]):
      branches = []
      for i, rate in enumerate(atrous_rates):
        scope = scope_suffix if i == 0 else '%s_%d' % (scope_suffix, i)
        branches.append(slim.conv2d(features, num_classes, kernel_size,
                                    rate=rate, activation_fn=None,
                                    normalizer_fn=None, scope=scope))
      return tf.add_n(branches) if len(branches) > 1 else branches[0]


def _get_logits(images, options, weight_decay, reuse, is_training,
                fine_tune_batch_norm):
  with slim.arg_scope([conv_layers.conv2d, conv_layers.depthwise_conv2d,
                       conv_layers.relu],
                      op_graph=options.op_graph), \
      slim.arg_scope([conv_layers.conv2d], winograd=options.winograd):
    features, end_points = extract_features(
        images, options, weight_decay=weight_decay, reuse=reuse,
        is_training=is_training, fine_tune_batch_norm=fine_tune_batch_norm)
    if options.decoder_output_stride:
      features = decoder.refine_by_decoder(
          features, end_points, options, crop_size=options.crop_size,
          weight_decay=weight_decay, reuse=reuse, is_training=is_training,
          fine_tune_batch_norm=fine_tune_batch_norm)
  return {
      output: get_branch_logits(
          features, num_classes, options.atrous_rates,
          aspp_with_batch_norm=options.aspp_with_batch_norm,
          kernel_size=options.logits_kernel_size, weight_decay=weight_decay,
          reuse=reuse, scope_suffix=output)
      for output, num_classes in sorted(options.outputs_to_num_classes.items())
  }


def _check_pyramid(image_pyramid):
  pyramid = list(image_pyramid) if image_pyramid else [1.0]
  if any(not float(s) > 0 for s in pyramid):
    raise ValueError('image_pyramid / eval_scales must be positive, got %r'
                     % (image_pyramid,))
  return [float(s) for s in pyramid]


def multi_scale_logits(images, model_options, image_pyramid=None,
                       weight_decay=0.0001, is_training=False,
                       fine_tune_batch_norm=False):
  """Logits for each scale of ``image_pyramid`` and their merge.

  Args:
    images: float [B, H, W, 3], pixel values 0..255.
    model_options: ``ModelOptions``; ``crop_size`` should be [H, W] (None
      uses dynamic shapes and global-mean image pooling).
    image_pyramid: input scales, default [1.0].

  Returns:
    {output: {'logits_<s>': T, ..., 'merged_logits': T}} at the resolution
    of the logits output stride (decoder stride if any) of the largest scale
    (at least 1.0), not upsampled to the input.

  Raises:
    ValueError: invalid options or scales.
  """
  mo.validate_model_options(model_options)
  pyramid = _check_pyramid(image_pyramid)
  options = model_options
  if options.crop_size is not None:
    crop_h, crop_w = [int(d) for d in options.crop_size]
  else:
    crop_h, crop_w = tf.shape(images)[1], tf.shape(images)[2]
  logits_stride = options.decoder_output_stride or options.output_stride
  top_scale = max(1.0, max(pyramid))
  logits_size = [utils.scale_dimension(crop_h, top_scale / logits_stride),
                 utils.scale_dimension(crop_w, top_scale / logits_stride)]

  outputs = {name: {} for name in options.outputs_to_num_classes}
  with tf.variable_scope(tf.get_variable_scope(), reuse=tf.AUTO_REUSE):
    for scale in pyramid:
      pool_crop = options.image_pooling_crop_size
      if scale != 1.0:
        scaled_size = [utils.scale_dimension(crop_h, scale),
                       utils.scale_dimension(crop_w, scale)]
        scaled_images = utils.resize_bilinear(images, scaled_size,
                                              images.dtype)
        scaled_crop = (scaled_size if options.crop_size is not None else None)
        if pool_crop and options.crop_size is not None:
          # As the original: the image pooling window scales with the input.
          pool_crop = [utils.scale_dimension(d, scale) for d in pool_crop]
      else:
        scaled_images = images
        scaled_crop = options.crop_size
      scale_options = options._replace(crop_size=scaled_crop,
                                       image_pooling_crop_size=pool_crop)
      logits = _get_logits(scaled_images, scale_options, weight_decay,
                           tf.AUTO_REUSE, is_training, fine_tune_batch_norm)
      for name, value in logits.items():
        outputs[name]['logits_%.2f' % scale] = utils.resize_bilinear(
            value, logits_size, value.dtype, options.op_graph)

  for scales in outputs.values():
    if len(pyramid) == 1:
      scales[MERGED_LOGITS_SCOPE] = scales['logits_%.2f' % pyramid[0]]
      continue
    stacked = tf.stack([scales['logits_%.2f' % s] for s in pyramid], axis=4)
    merge = tf.reduce_max if options.merge_method == 'max' else tf.reduce_mean
    scales[MERGED_LOGITS_SCOPE] = merge(stacked, axis=4)
  return outputs


def _input_size(images):
  static = images.shape[1:3].as_list()
  if all(d is not None for d in static):
    return static
  shape = tf.shape(images)
  return [shape[1], shape[2]]


def predict_logits(images, model_options, image_pyramid=None):
  """Merged logits of the eval graph, bilinearly resized to the input size.

  Returns:
    {output: float [B, H, W, num_classes]}.
  """
  outputs = multi_scale_logits(images, model_options, image_pyramid,
                               is_training=False, fine_tune_batch_norm=False)
  size = _input_size(images)
  return {name: utils.resize_bilinear(scales[MERGED_LOGITS_SCOPE], size,
                                      scales[MERGED_LOGITS_SCOPE].dtype)
          for name, scales in outputs.items()}


def predict_labels(images, model_options, image_pyramid=None):
  """Per-pixel labels: logits upsampled to the input size, then argmax.

  Returns:
    {output: int64 [B, H, W]}.
  """
  if not model_options.prediction_with_upsampled_logits:
    outputs = multi_scale_logits(images, model_options, image_pyramid)
    size = _input_size(images)
    labels = {}
    for name, scales in outputs.items():
      coarse = tf.argmax(scales[MERGED_LOGITS_SCOPE], 3)
      labels[name] = tf.squeeze(tf.image.resize_nearest_neighbor(
          tf.expand_dims(coarse, 3), size, align_corners=True), 3)
    return labels
  return {name: tf.argmax(logits, 3)
          for name, logits in predict_logits(images, model_options,
                                             image_pyramid).items()}


def predict_labels_multi_scale(images, model_options, eval_scales=(1.0,),
                               add_flipped_images=False):
  """Labels from softmax probabilities averaged over scales (and flips).

  Every scale (and, with ``add_flipped_images``, its left-right mirrored
  input, whose output is mirrored back) gives logits that are resized to
  the input size and turned into probabilities; the mean probability is
  returned under ``<output>_prob`` and its argmax under ``<output>``.
  """
  scales = _check_pyramid(eval_scales)
  size = _input_size(images)
  probabilities = {name: [] for name in model_options.outputs_to_num_classes}
  for scale in scales:
    passes = [(images, False)]
    if add_flipped_images:
      passes.append((tf.reverse(images, [2]), True))
    for pass_images, flipped in passes:
      outputs = multi_scale_logits(pass_images, model_options, [scale],
                                   is_training=False,
                                   fine_tune_batch_norm=False)
      for name, scale_logits in outputs.items():
        logits = scale_logits[MERGED_LOGITS_SCOPE]
        if flipped:
          logits = tf.reverse(logits, [2])
        logits = utils.resize_bilinear(logits, size, logits.dtype)
        probabilities[name].append(tf.nn.softmax(logits))
  predictions = {}
  for name, probs in probabilities.items():
    mean = tf.add_n(probs) / float(len(probs)) if len(probs) > 1 else probs[0]
    predictions[name] = tf.argmax(mean, 3)
    predictions[name + PROB_SUFFIX] = mean
  return predictions
