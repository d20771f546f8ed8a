"""ResNet-v1 backbones of DeepLab (plain and "beta" root block, multi-grid).

Differences from the classic ResNet-v1:
  * every block strides in its LAST unit (so ``block1/unit_2`` still works at
    stride 4, which the decoder uses);
  * block4 has one unit per multi-grid entry, each with ``unit_rate`` equal
    to that entry (the atrous rate of its 3x3 convolution is
    ``rate * unit_rate``);
  * the "beta" root block replaces the 7x7 convolution by three 3x3
    convolutions ``conv1_1`` (stride 2), ``conv1_2`` and ``conv1_3`` (128
    channels).

Variable names match DeepLab's ImageNet checkpoints
(``resnet_v1_{50,101}/block<b>/unit_<u>/bottleneck_v1/conv<k>``).

Units are built with the ``unit_fn`` the caller passes (``li_models`` passes
the LI bottleneck of ``li_utils.conv_ops``, so this module imports only
TensorFlow, tf-slim and ``libs.core``); ``li_units`` maps ``'block<b>'`` to
``{unit index (1-based): LI kwargs}`` for the units that carry a
lateral-inhibition layer.
"""
import tensorflow.compat.v1 as tf
import tf_slim as slim
from tf_slim.nets import resnet_utils

from libs.core.batch_norm import batch_norm

# block4's unit rates when multi_grid is not given, as DeepLab's
# resnet_v1_beta (the published LI-Convs configs all set 1,2,4).
DEFAULT_MULTI_GRID = (1, 1, 1)

# Units per block (block1..block3; block4 comes from multi_grid).
_UNITS_PER_BLOCK = {
    50: (3, 4, 6),
    101: (3, 4, 23),
}


def resnet_arg_scope(weight_decay=0.0001, batch_norm_decay=0.997,
                     batch_norm_epsilon=1e-5, batch_norm_scale=True):
  """ResNet's arg scope: convolutions with He-initialised, L2-regularised
  weights, BatchNorm and relu; max pooling with SAME padding."""
  batch_norm_params = {'decay': batch_norm_decay,
                       'epsilon': batch_norm_epsilon,
                       'scale': batch_norm_scale,
                       'updates_collections': tf.GraphKeys.UPDATE_OPS}
  with slim.arg_scope([slim.conv2d],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      weights_initializer=slim.variance_scaling_initializer(),
                      activation_fn=tf.nn.relu, normalizer_fn=batch_norm,
                      normalizer_params=batch_norm_params), \
      slim.arg_scope([batch_norm], **batch_norm_params), \
      slim.arg_scope([slim.max_pool2d], padding='SAME') as sc:
    return sc


def plain_root_block(net):
  """7x7/2 convolution ``conv1`` with 64 outputs."""
  return resnet_utils.conv2d_same(net, 64, 7, stride=2, scope='conv1')


def beta_root_block(net):
  """Three 3x3 convs: conv1_1 (/2, 64), conv1_2 (64), conv1_3 (128)."""
  net = resnet_utils.conv2d_same(net, 64, 3, stride=2, scope='conv1_1')
  net = resnet_utils.conv2d_same(net, 64, 3, stride=1, scope='conv1_2')
  return resnet_utils.conv2d_same(net, 128, 3, stride=1, scope='conv1_3')


def _unit_args(depth, depth_bottleneck, stride, unit_rate, li_kwargs):
  args = {'depth': depth, 'depth_bottleneck': depth_bottleneck,
          'stride': stride, 'unit_rate': unit_rate}
  args.update(li_kwargs if li_kwargs else {'li_location': None})
  return args


def make_blocks(num_layers, multi_grid=DEFAULT_MULTI_GRID, li_units=None,
                unit_fn=None):
  """The four ``resnet_utils.Block`` of a ResNet-``num_layers``.

  Args:
    num_layers: 50 or 101.
    multi_grid: unit rates of block4 (one unit each).
    li_units: optional {'block<b>': {unit (1-based): LI kwargs}}.
    unit_fn: the bottleneck unit, called with ``depth``, ``depth_bottleneck``,
      ``stride``, ``unit_rate`` and the LI kwargs (None: blocks only for
      counting units; ``resnet_v1_beta`` refuses them).

  Raises:
    ValueError: unsupported depth, bad multi_grid or LI unit out of range.
  """
  if num_layers not in _UNITS_PER_BLOCK:
    raise ValueError('ResNet depth must be one of %s, got %r'
                     % (sorted(_UNITS_PER_BLOCK), num_layers))
  multi_grid = list(multi_grid if multi_grid is not None
                    else DEFAULT_MULTI_GRID)
  if not multi_grid or any(int(r) < 1 for r in multi_grid):
    raise ValueError('multi_grid must be a non-empty list of rates >= 1, got '
                     '%r' % (multi_grid,))
  li_units = dict(li_units or {})
  block_units = list(_UNITS_PER_BLOCK[num_layers]) + [len(multi_grid)]
  base_depths = (64, 128, 256, 512)
  blocks = []
  for b, (num_units, base_depth) in enumerate(zip(block_units, base_depths)):
    name = 'block%d' % (b + 1)
    unit_li = dict(li_units.pop(name, {}))
    bad = [u for u in unit_li if not 1 <= u <= num_units]
    if bad:
      raise ValueError('LI units %s out of range for %s (1..%d)'
                       % (bad, name, num_units))
    args = []
    for u in range(1, num_units + 1):
      if b < 3:
        # Stride 2 in the last unit of block1..block3.
        stride, unit_rate = (2 if u == num_units else 1), 1
      else:
        stride, unit_rate = 1, int(multi_grid[u - 1])
      args.append(_unit_args(base_depth * 4, base_depth, stride, unit_rate,
                             unit_li.get(u)))
    blocks.append(resnet_utils.Block(name, unit_fn, args))
  if li_units:
    raise ValueError('unknown ResNet blocks for LI: %s (allowed: block1..'
                     'block4)' % sorted(li_units))
  return blocks


def resnet_v1_beta(inputs, blocks, root_block_fn=plain_root_block,
                   output_stride=None, scope=None, reuse=None):
  """Root block, 3x3/2 max-pool and the residual blocks.

  Must be called inside ``resnet_arg_scope`` (or an equivalent).

  Returns:
    (features, end_points) where end point keys are full op-scope names,
    e.g. ``resnet_v1_50/block1/unit_2/bottleneck_v1/conv3``.

  Raises:
    ValueError: output_stride not a multiple of 4 or not reachable.
  """
  with tf.variable_scope(scope, 'resnet_v1', [inputs], reuse=reuse) as sc:
    collection = sc.original_name_scope + '_end_points'
    unit_fns = []
    for block in blocks:
      if block.unit_fn not in unit_fns:
        unit_fns.append(block.unit_fn)
    if None in unit_fns:
      raise ValueError('resnet_v1_beta needs blocks built with a unit_fn')
    with slim.arg_scope([slim.conv2d, resnet_utils.stack_blocks_dense] +
                        unit_fns,
                        outputs_collections=collection):
      block_stride = None
      if output_stride is not None:
        if output_stride % 4 != 0:
          raise ValueError('ResNet output_stride must be a multiple of 4, '
                           'got %r' % output_stride)
        block_stride = output_stride // 4
      net = root_block_fn(inputs)
      net = slim.max_pool2d(net, [3, 3], stride=2, padding='SAME',
                            scope='pool1')
      try:
        net = resnet_utils.stack_blocks_dense(net, blocks, block_stride)
      except ValueError as err:
        raise ValueError('ResNet output_stride %r cannot be reached (allowed: '
                         '4, 8, 16, 32)' % output_stride) from err
      end_points = slim.utils.convert_collection_to_dict(collection)
  return net, end_points


def resnet_v1(inputs, num_layers, unit_fn, beta=False,
              multi_grid=DEFAULT_MULTI_GRID, output_stride=None, li_units=None,
              scope=None, reuse=None):
  """ResNet-v1-``num_layers`` (plain or beta root) without the classifier.

  The default scope is ``resnet_v1_<num_layers>`` for both root variants;
  ``unit_fn`` builds each bottleneck unit (see ``make_blocks``).
  """
  blocks = make_blocks(num_layers, multi_grid, li_units, unit_fn)
  return resnet_v1_beta(
      inputs, blocks,
      root_block_fn=beta_root_block if beta else plain_root_block,
      output_stride=output_stride,
      scope=scope or 'resnet_v1_%d' % num_layers, reuse=reuse)
