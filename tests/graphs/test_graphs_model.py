"""Behaviour of the backbones, heads and the prediction functions."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from libs.core import utils
from libs.nets import mobilenet_v2
from libs.nets import resnet_v1_beta
from li_models import li_placement
from li_models import model
from li_models import model_options as mo
from li_models import registry
from li_utils import conv_ops

pytestmark = pytest.mark.tf2

_MNV2_BLOCK = conv_ops.expanded_conv_with_lateral_inhibition


def _options(**overrides):
  kwargs = dict(crop_size=[33, 33], atrous_rates=[6, 12, 18],
                output_stride=16, model_variant='li_mobilenet_v2',
                dpn_variant='li_aspp', li_weight_initilizer_min_max_dpn=(0.1,
                                                                         0.3))
  kwargs.update(overrides)
  return mo.ModelOptions({'semantic': 5}, **kwargs)


def _random_images(shape, seed=0):
  return np.random.RandomState(seed).uniform(0, 255, shape).astype(np.float32)


def test_scale_dimension():
  assert utils.scale_dimension(513, 1.0 / 16) == 33
  assert utils.scale_dimension(257, 1.0 / 4) == 65
  assert utils.scale_dimension(65, 0.5) == 33
  with tf.Graph().as_default(), tf.Session() as sess:
    assert sess.run(utils.scale_dimension(tf.constant(513), 0.25)) == 129


def test_resize_bilinear_aligns_corners(fresh_graph):
  image = tf.constant(np.arange(9, dtype=np.float32).reshape([1, 3, 3, 1]))
  resized = utils.resize_bilinear(image, [5, 5])
  assert resized.shape.as_list() == [1, 5, 5, 1]
  with tf.Session() as sess:
    out = sess.run(resized)[0, :, :, 0]
  assert out[0, 0] == 0 and out[4, 4] == 8 and out[2, 2] == 4
  assert out[0, 1] == pytest.approx(0.5)


@pytest.mark.parametrize('output_stride,size', [(8, 9), (32, 3)])
def test_mobilenet_output_stride_and_end_points(fresh_graph, output_stride,
                                                size):
  images = tf.placeholder(tf.float32, [1, 65, 65, 3])
  with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
    net, end_points = mobilenet_v2.mobilenet_base(
        images, final_endpoint='layer_18', output_stride=output_stride,
        block_fn=_MNV2_BLOCK)
  assert net.shape.as_list() == [1, size, size, 320]
  assert end_points['layer_18'] is net
  assert end_points['layer_4/depthwise_output'].shape.as_list() == [
      1, 17, 17, 144]
  assert 'layer_19' not in end_points
  names = [v.op.name for v in tf.global_variables()]
  assert 'MobilenetV2/expanded_conv_16/project/weights' in names
  assert not any('Conv_1' in n for n in names)


def test_mobilenet_depth_multiplier(fresh_graph):
  images = tf.placeholder(tf.float32, [1, 33, 33, 3])
  with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
    net, _ = mobilenet_v2.mobilenet_base(images, depth_multiplier=0.5,
                                         min_depth=1, divisible_by=1,
                                         final_endpoint='layer_18',
                                         block_fn=_MNV2_BLOCK)
  assert net.shape.as_list()[-1] == 160
  first = [v for v in tf.global_variables()
           if v.op.name == 'MobilenetV2/Conv/weights'][0]
  assert first.shape.as_list() == [3, 3, 3, 16]
  with pytest.raises(ValueError, match='output_stride'):
    with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
      mobilenet_v2.mobilenet_base(images, output_stride=64, scope='Other',
                                  block_fn=_MNV2_BLOCK)
  with pytest.raises(ValueError, match='block_fn'):
    mobilenet_v2.mobilenet_base(images, scope='NoBlock')


def test_resnet_beta_end_points_and_multi_grid(fresh_graph):
  images = tf.placeholder(tf.float32, [1, 65, 65, 3])
  blocks = resnet_v1_beta.make_blocks(50, multi_grid=[1, 2, 4])
  assert [u['unit_rate'] for u in blocks[3].args] == [1, 2, 4]
  # Without multi_grid block4's units all keep rate 1, as the original.
  for absent in (resnet_v1_beta.make_blocks(50, multi_grid=None),
                 resnet_v1_beta.make_blocks(101)):
    assert [u['unit_rate'] for u in absent[3].args] == [1, 1, 1]
  assert [u['stride'] for u in blocks[0].args] == [1, 1, 2]
  with slim.arg_scope(resnet_v1_beta.resnet_arg_scope()):
    net, end_points = resnet_v1_beta.resnet_v1(
        images, 50, conv_ops.li_resnet_bottleneck, beta=True, output_stride=8)
  assert net.shape.as_list() == [1, 9, 9, 2048]
  low = end_points['resnet_v1_50/block1/unit_2/bottleneck_v1/conv3']
  assert low.shape.as_list() == [1, 17, 17, 256]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    out = sess.run(net, {images: _random_images([1, 65, 65, 3])})
  assert out.shape == (1, 9, 9, 2048) and np.all(out >= 0)
  with pytest.raises(ValueError, match='output_stride'):
    with slim.arg_scope(resnet_v1_beta.resnet_arg_scope()):
      resnet_v1_beta.resnet_v1(images, 50, conv_ops.li_resnet_bottleneck,
                               output_stride=6, scope='other')
  with pytest.raises(ValueError, match='unit_fn'):
    resnet_v1_beta.resnet_v1_beta(images, blocks, scope='no_unit_fn')


def test_resnet_li_placement_tables():
  options = _options(model_variant='li_resnet_v1_101_beta',
                     li_resnet_option='a', li_resnet_block_pos='last_two')
  units = {'block1': 3, 'block2': 4, 'block3': 23, 'block4': 3}
  placement = li_placement.resnet_unit_li_kwargs(options, units, {})
  assert sorted(placement) == ['block3', 'block4']
  assert sorted(placement['block3']) == [22, 23]
  assert sorted(placement['block4']) == [1, 2, 3]
  assert placement['block4'][1]['li_location'] == 'after_conv1'
  plain = li_placement.resnet_unit_li_kwargs(
      options._replace(model_variant='resnet_v1_101_beta'), units, {})
  assert plain == {}


def test_mnv2_li_placement_for_every_option():
  for letter, blocks in registry.MNV2_LI_BLOCKS.items():
    kwargs = li_placement.mobilenet_block_li_kwargs(
        _options(li_backbone_option_mnv2=letter, li_with_batch_norm=True),
        {'is_training': True, 'decay': 0.5})
    assert sorted(kwargs) == sorted(blocks)
    assert all(0 <= b <= 16 for b in blocks)
    some = kwargs[blocks[0]]
    # The LI BatchNorm takes the arguments of the network around it.
    assert some['li_normalizer_params'] == {'is_training': True, 'decay': 0.5}
    assert some['li_weight_initilizer_params'] == {'minval': 0.0,
                                                   'maxval': 0.0}


def test_dpn_li_kwargs_per_branch():
  options = _options(li_zones_dpn=[3, 5, 7], li_decay_stds_dpn=[1, 2, 3],
                     li_rates_dpn=[1, 2, 3], li_with_weight_regularizer=True)
  kwargs = li_placement.dpn_li_kwargs(options, 2, {}, 0.001)
  assert (kwargs['li_zone'], kwargs['li_decay_std'], kwargs['li_rate']) == (
      7, 3.0, 3)
  assert kwargs['li_weight_initilizer_params'] == {'minval': 0.1,
                                                   'maxval': 0.3}
  assert kwargs['li_weight_regularizer'] is not None
  assert kwargs['li_activation_fn'] is tf.nn.relu


def test_extra_layer_scopes_and_backbone_scope():
  assert model.get_extra_layer_scopes(True) == ['logits']
  scopes = model.get_extra_layer_scopes()
  for scope in ('logits', 'image_pooling', 'aspp', 'concat_projection',
                'decoder', 'meta_architecture'):
    assert scope in scopes
  assert model.backbone_scope('li_mobilenet_v2') == 'MobilenetV2'
  assert model.backbone_scope('resnet_v1_101_beta') == 'resnet_v1_101'
  assert model.backbone_scope('li_resnet_v1_50_beta') == 'resnet_v1_50'
  with pytest.raises(ValueError, match='model_variant'):
    model.backbone_scope('vgg_16')


def test_multi_scale_logits_shapes_and_max_merge(fresh_graph):
  options = _options(decoder_output_stride=4, dpn_variant='li_dense_aspp',
                     li_with_batch_norm=True)
  images = tf.placeholder(tf.float32, [2, 33, 33, 3])
  outputs = model.multi_scale_logits(images, options,
                                     image_pyramid=[0.5, 1.0])
  scales = outputs['semantic']
  assert sorted(scales) == ['logits_0.50', 'logits_1.00', 'merged_logits']
  for tensor in scales.values():
    assert tensor.shape.as_list() == [2, 9, 9, 5]
  # One set of variables shared by both scales.
  names = [v.op.name for v in tf.global_variables()]
  assert len(names) == len(set(names))
  assert 'li_denseASPP/layer3/dilated_conv/lateral_inhibition/BatchNorm/beta' \
      in names
  assert all(n.split('/')[0] in ('MobilenetV2', 'li_denseASPP', 'decoder',
                                 'logits') for n in names)
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    values = sess.run(scales, {images: _random_images([2, 33, 33, 3])})
  np.testing.assert_allclose(
      values['merged_logits'],
      np.maximum(values['logits_0.50'], values['logits_1.00']), rtol=1e-6)


def test_predictions_single_multi_scale_and_flipped(fresh_graph):
  options = _options(model_variant='mobilenet_v2', dpn_variant='aspp')
  images = tf.placeholder(tf.float32, [1, 33, 33, 3])
  labels = model.predict_labels(images, options)['semantic']
  logits = labels.op.inputs[0]  # the upsampled logits fed to the argmax
  assert logits.shape.as_list() == [1, 33, 33, 5]
  flipped_logits = model.predict_logits(tf.reverse(images, [2]),
                                        options)['semantic']
  num_variables = len(tf.global_variables())
  multi = model.predict_labels_multi_scale(images, options, eval_scales=[1.0],
                                           add_flipped_images=True)
  assert len(tf.global_variables()) == num_variables
  assert labels.shape.as_list() == [1, 33, 33]
  assert multi['semantic'].shape.as_list() == [1, 33, 33]
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    feed = {images: _random_images([1, 33, 33, 3], seed=1)}
    got = sess.run([labels, logits, flipped_logits, multi], feed)
  labels_v, logits_v, flipped_v, multi_v = got
  np.testing.assert_array_equal(labels_v, np.argmax(logits_v, 3))
  assert labels_v.min() >= 0 and labels_v.max() < 5

  def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)

  expected = 0.5 * (softmax(logits_v) + softmax(flipped_v[:, :, ::-1]))
  np.testing.assert_allclose(multi_v['semantic_prob'], expected, atol=1e-5)
  np.testing.assert_array_equal(multi_v['semantic'],
                                np.argmax(multi_v['semantic_prob'], 3))


def _avg_pool_windows(graph):
  return sorted(tuple(op.get_attr('ksize'))[1:3]
                for op in graph.get_operations() if op.type == 'AvgPool')


def test_image_pooling_crop_size_scales_with_each_input_scale(fresh_graph):
  """As the original's multi-scale logits: the image pooling window of an
  input scale is image_pooling_crop_size at that scale (65 -> 5 features
  at 1.0, 33 -> 3 at 0.5; the unscaled 5 would not fit 3 features)."""
  options = _options(crop_size=[65, 65], image_pooling_crop_size=[65, 65],
                     dpn_variant='aspp', model_variant='mobilenet_v2')
  images = tf.placeholder(tf.float32, [1, 65, 65, 3])
  model.multi_scale_logits(images, options, image_pyramid=[0.5, 1.0])
  assert _avg_pool_windows(fresh_graph) == [(3, 3), (5, 5)]


def test_aspp_branches_are_separable_whatever_the_flag():
  """The original's ASPP branches never read aspp_with_separable_conv."""
  names = {}
  for separable in (True, False):
    with tf.Graph().as_default():
      options = _options(dpn_variant='aspp', model_variant='mobilenet_v2',
                         aspp_with_separable_conv=separable)
      model.predict_labels(tf.placeholder(tf.float32, [1, 33, 33, 3]),
                           options)
      names[separable] = [(v.op.name, v.shape.as_list())
                          for v in tf.global_variables()]
  assert names[False] == names[True]
  assert ('aspp/branch_1/depthwise/depthwise_weights', [3, 3, 320, 1]) in \
      names[False]


def test_li_lists_longer_than_the_atrous_rates_are_cut(fresh_graph):
  options = _options(li_zones_dpn=[3, 5, 7, 9], li_rates_dpn=[1, 2, 3, 4],
                     li_decay_stds_dpn=[1.0, 1.0, 1.0, -1.0])
  model.predict_labels(tf.placeholder(tf.float32, [1, 33, 33, 3]), options)
  kernels = [op for op in fresh_graph.get_operations()
             if op.type == 'DepthwiseConv2dNative' and
             op.name.startswith('li_aspp/branch_') and
             '/lateral_inhibition/' in op.name]
  names = sorted(op.name.split('/')[1] for op in kernels)
  assert names == ['branch_1', 'branch_2', 'branch_3']
  assert sorted(op.inputs[1].shape.as_list()[0] for op in kernels) == [3, 5,
                                                                       7]
