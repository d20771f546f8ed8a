"""Reading LI weights out of checkpoints and drawing them.

Checkpoints store only the per-channel weights ``.../li_weights``; the zone
and sigma of each layer come from the config the model was trained with (the
DPN lists per branch, the backbone scalars), defaulting to the published
3x3, sigma 1.
"""
import collections
import re

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import tensorflow.compat.v1 as tf

from li_programs.checkpoints import checkpoint_check
from li_programs.checkpoints import checkpoint_paths
from li_utils import conv_ops

LILayer = collections.namedtuple('LILayer', ['name', 'weights', 'zone',
                                             'sigma'])

_DPN_BRANCH = re.compile(r'(?:^|/)(?:li_)?aspp/branch_(\d+)/')
_DENSE_LAYER = re.compile(r'(?:^|/)(?:li_)?dense_?ASPP/layer(\d+)/', re.I)


def _zone_and_sigma(name, li_settings):
  """Zone and sigma of the LI layer ``name`` under ``li_settings``.

  ``li_settings`` holds ``li_zones_dpn``, ``li_decay_stds_dpn`` (lists, one
  per atrous branch) and ``li_zones_backbone``, ``li_decay_stds_backbone``.
  """
  if not li_settings:
    return 3, 1.0
  for pattern in (_DPN_BRANCH, _DENSE_LAYER):
    match = pattern.search(name)
    if match:
      index = int(match.group(1)) - 1
      zones = li_settings.get('li_zones_dpn') or [3]
      sigmas = li_settings.get('li_decay_stds_dpn') or [1.0]
      return (zones[min(index, len(zones) - 1)],
              sigmas[min(index, len(sigmas) - 1)])
  return (li_settings.get('li_zones_backbone', 3),
          li_settings.get('li_decay_stds_backbone', 1.0))


def read_li_layers(checkpoint_path, li_settings=None):
  """All LI layers of a checkpoint, in variable-name order.

  Args:
    checkpoint_path: a checkpoint prefix, one of its files or its folder
      (its latest checkpoint), see li_programs/checkpoints/checkpoint_paths.
    li_settings: optional dict of zone/sigma settings (see above).

  Raises:
    ValueError: no checkpoint there, or it holds no LI weights.
  """
  try:
    checkpoint_path, _ = checkpoint_paths.resolve(checkpoint_path)
  except checkpoint_check.CheckpointError as err:
    raise ValueError('cannot read checkpoint: %s' % err) from err
  try:
    reader = tf.train.load_checkpoint(checkpoint_path)
  except (tf.errors.NotFoundError, tf.errors.DataLossError,
          ValueError) as err:
    raise ValueError('cannot read checkpoint %s (give a checkpoint prefix such '
                     'as .../model.ckpt-1000, or its folder)'
                     % checkpoint_path) from err
  names = sorted((n for n in reader.get_variable_to_shape_map()
                  if n.endswith('/' + conv_ops.LI_WEIGHTS_NAME)),
                 key=_natural_key)
  if not names:
    raise ValueError('checkpoint %s holds no lateral-inhibition weights (no '
                     'variable ends in /li_weights)' % checkpoint_path)
  layers = []
  for name in names:
    zone, sigma = _zone_and_sigma(name, li_settings)
    layer_name = name[:-len('/' + conv_ops.LI_WEIGHTS_NAME)]
    layers.append(LILayer(layer_name, reader.get_tensor(name).ravel(), zone,
                          sigma))
  return layers


def _natural_key(name):
  """Sorts expanded_conv_9 before expanded_conv_12 (numbers as numbers)."""
  return [int(part) if part.isdigit() else part
          for part in re.split(r'(\d+)', name)]


def kernel_for_weight(weight, zone, sigma):
  """The ``[z, z]`` LI kernel of one channel, as numpy (same formula)."""
  decay = conv_ops.gaussian_decay(zone, sigma)
  kernel = -weight * decay
  kernel[zone // 2, zone // 2] = 1.0
  return kernel


def _short(name):
  return name.replace('/lateral_inhibition', '').replace('MobilenetV2/', '')


def plot_li_kernels(layers, path):
  """One row per layer: kernels at the min, mean and max channel weight."""
  rows = len(layers)
  fig, axes = plt.subplots(rows, 3, figsize=(7.5, 2.3 * rows + 0.6),
                           squeeze=False, constrained_layout=True)
  # White is zero: red taps excite (the centre), blue taps inhibit.
  vmin = min([-1e-3] + [-layer.weights.max() for layer in layers])
  norm = matplotlib.colors.TwoSlopeNorm(vmin=vmin, vcenter=0.0, vmax=1.0)
  for row, layer in enumerate(layers):
    picks = [('min', layer.weights.min()), ('mean', layer.weights.mean()),
             ('max', layer.weights.max())]
    for col, (label, weight) in enumerate(picks):
      ax = axes[row, col]
      kernel = kernel_for_weight(weight, layer.zone, layer.sigma)
      image = ax.imshow(kernel, cmap='RdBu_r', norm=norm)
      if layer.zone <= 5:
        for (i, j), value in np.ndenumerate(kernel):
          ax.text(j, i, '%.2f' % value, ha='center', va='center', fontsize=6,
                  color='white' if value > 0.5 else 'black')
      ax.set_xticks([])
      ax.set_yticks([])
      ax.set_title('%s w=%.3f' % (label, weight), fontsize=8)
      if col == 0:
        ax.set_ylabel(_short(layer.name), fontsize=7)
    bar = fig.colorbar(image, ax=list(axes[row]), fraction=0.03, pad=0.02)
    bar.set_ticks([norm.vmin, norm.vmin / 2.0, 0.0, 0.5, 1.0])
  fig.suptitle('LI kernels (zone, sigma from the config)', fontsize=10)
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_li_weight_distributions(layers, path):
  """A histogram of the per-channel weights of every LI layer."""
  cols = min(3, len(layers))
  rows = int(np.ceil(len(layers) / float(cols)))
  fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows),
                           squeeze=False)
  for index, ax in enumerate(axes.ravel()):
    if index >= len(layers):
      ax.axis('off')
      continue
    layer = layers[index]
    ax.hist(layer.weights, bins=30, color='#4c72b0')
    ax.axvline(layer.weights.mean(), color='#c44e52', lw=1)
    ax.set_title('%s (C=%d)' % (_short(layer.name), layer.weights.size),
                 fontsize=8)
    ax.set_xlabel('li weight (mean %.3f)' % layer.weights.mean(), fontsize=7)
    ax.tick_params(labelsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def summary_table(layers):
  """Text table: layer, channels, zone, sigma, mean/std/min/max weight."""
  header = '%-48s %5s %4s %5s %7s %7s %7s %7s' % (
      'layer', 'C', 'zone', 'sigma', 'mean', 'std', 'min', 'max')
  lines = [header, '-' * len(header)]
  for layer in layers:
    w = layer.weights
    lines.append('%-48s %5d %4d %5.2f %7.4f %7.4f %7.4f %7.4f' % (
        layer.name[-48:], w.size, layer.zone, layer.sigma, w.mean(), w.std(),
        w.min(), w.max()))
  return '\n'.join(lines)
