"""DeepLabv3+ decoder: refine the DPN output with a stride-4 backbone feature.

``decoder/feature_projection0`` (1x1, 48 channels) projects the low-level
feature (``layer_4/depthwise_output`` for MobileNetV2,
``block1/unit_2/bottleneck_v1/conv3`` for ResNets); both inputs are resized
to the decoder resolution, concatenated and refined by two 3x3 convolutions
of 256 channels (separable ``decoder_conv0``/``decoder_conv1`` by default).
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import conv_layers
from libs.core import utils
from li_models import dpn
from li_models import feature_extractor

DECODER_SCOPE = 'decoder'
PROJECTION_DEPTH = 48
DECODER_DEPTH = 256


def decoder_size(crop_size, features, decoder_output_stride):
  """[h, w] of the decoder output: ints for a known crop, else tensors."""
  if crop_size is not None:
    return [utils.scale_dimension(d, 1.0 / decoder_output_stride)
            for d in crop_size]
  shape = tf.shape(features)
  return [shape[1], shape[2]]


def refine_by_decoder(features, end_points, options, crop_size=None,
                      weight_decay=0.0001, reuse=None, is_training=False,
                      fine_tune_batch_norm=False):
  """Returns the refined features at ``options.decoder_output_stride``.

  Args:
    features: DPN output.
    end_points: backbone end points (must contain the decoder feature).
    crop_size: [h, w] of the network input or None (sizes then come from the
      low-level feature's dynamic shape).
  """
  key = feature_extractor.decoder_end_point(options.model_variant)
  if key not in end_points:
    raise ValueError('decoder feature %r missing from the backbone end points'
                     % key)
  low_level = end_points[key]
  with slim.arg_scope(dpn.dpn_arg_scope(weight_decay, is_training,
                                        fine_tune_batch_norm, reuse)):
    with tf.variable_scope(DECODER_SCOPE, DECODER_SCOPE, [features]):
      projected = conv_layers.conv2d(low_level, PROJECTION_DEPTH, 1,
                                     scope='feature_projection0')
      size = decoder_size(crop_size, low_level,
                          options.decoder_output_stride)
      net = tf.concat([utils.resize_bilinear(t, size, t.dtype,
                                             options.op_graph)
                       for t in (features, projected)], 3)
      if options.decoder_use_separable_conv:
        for i in range(2):
          net = utils.split_separable_conv2d(
              net, DECODER_DEPTH, rate=1, weight_decay=weight_decay,
              scope='decoder_conv%d' % i)
        return net
      return slim.repeat(net, 2, slim.conv2d, DECODER_DEPTH, 3,
                         scope='decoder_conv0')
