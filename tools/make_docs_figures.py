"""Renders docs/figures/li_method.png: what one LI layer does to a feature map.

    python tools/make_docs_figures.py [--output docs/figures/li_method.png]

Left: the LI kernel for two settings.  Right: a blurred two-region feature
map before and after the layer (computed with ``lateral_inhibition_layer``
itself), and a profile across the boundary, where inhibition by the brighter
side deepens the dark side next to the edge and lifts the bright side: the
edge contrast LI-Convs rely on.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import tensorflow.compat.v1 as tf
from scipy import ndimage

from li_programs.report import li_visualization
from li_utils import conv_ops
from libs.core import tf_compat

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def feature_map(size=64):
  """Two regions (0.3 and 1.0) meeting at a blurred diagonal-ish boundary."""
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
  region = (xx + 0.25 * yy > 0.55 * size).astype(np.float64)
  disc = ((xx - 0.3 * size) ** 2 + (yy - 0.3 * size) ** 2) < (0.12 * size) ** 2
  values = 0.3 + 0.7 * region
  values[disc] = 0.8
  return ndimage.gaussian_filter(values, 1.5)


def apply_li(values, weight, zone, sigma, rate=1):
  """The layer on ``values``, reflect-padded so borders show no artefacts."""
  pad = (zone // 2) * rate
  padded = np.pad(values, pad, mode='reflect')
  with tf.Graph().as_default(), tf.Session() as sess:
    out = conv_ops.lateral_inhibition_layer(
        tf.constant(padded[None, :, :, None], tf.float32), li_zone=zone,
        li_decay_std=sigma, li_rate=rate,
        li_weight_initilizer_params={'minval': weight, 'maxval': weight})
    sess.run(tf.global_variables_initializer())
    return sess.run(out)[0, pad:-pad, pad:-pad, 0]


def flat_gain(weight, zone, sigma):
  """Response of the layer to a constant map of ones: 1 - w * sum(decay)."""
  decay = conv_ops.gaussian_decay(zone, sigma)
  return 1.0 - weight * (decay.sum() - 1.0)


def _kernel_panel(ax, weight, zone, sigma):
  kernel = li_visualization.kernel_for_weight(weight, zone, sigma)
  norm = matplotlib.colors.TwoSlopeNorm(vmin=-weight, vcenter=0.0, vmax=1.0)
  ax.imshow(kernel, cmap='RdBu_r', norm=norm)
  if zone <= 5:
    for (i, j), value in np.ndenumerate(kernel):
      ax.text(j, i, '%.2f' % value, ha='center', va='center', fontsize=7,
              color='white' if value > 0.5 else 'black')
  ax.set_title('kernel: zone %d, sigma %.1f, w=%.2f' % (zone, sigma, weight),
               fontsize=8)
  ax.set_xticks([])
  ax.set_yticks([])


def render(path):
  weight, zone, sigma = 0.2, 3, 1.0
  before = feature_map()
  # Divide by the flat-region gain so uniform areas keep their value and only
  # the change near edges remains visible.
  after = apply_li(before, weight, zone, sigma) / flat_gain(weight, zone, sigma)
  row = before.shape[0] // 2 + 12

  fig, axes = plt.subplots(2, 3, figsize=(11, 6.6))
  _kernel_panel(axes[0, 0], weight, zone, sigma)
  _kernel_panel(axes[1, 0], 0.15, 7, 1.5)
  limits = dict(vmin=min(before.min(), after.min()),
                vmax=max(before.max(), after.max()))
  for ax, data, title in (
      (axes[0, 1], before, 'feature map x'),
      (axes[0, 2], after, 'LI(x) / flat gain  (zone 3, w=0.2)')):
    image = ax.imshow(data, cmap='magma', **limits)
    ax.axhline(row, color='#55a868', lw=1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, fraction=0.046)
  profile = axes[1, 1]
  profile.plot(before[row], label='x', color='#4c72b0')
  profile.plot(after[row], label='LI(x) / flat gain', color='#c44e52')
  profile.set_title(
      'profile along the green line: a steeper edge, with overshoot',
      fontsize=9)
  profile.set_xlabel('column', fontsize=8)
  profile.legend(fontsize=7)
  contrast = axes[1, 2]
  gain = np.hypot(*np.gradient(after)) - np.hypot(*np.gradient(before))
  image = contrast.imshow(gain, cmap='RdBu_r',
                          norm=matplotlib.colors.TwoSlopeNorm(vcenter=0.0))
  fig.colorbar(image, ax=contrast, fraction=0.046)
  contrast.set_title('gain in gradient magnitude', fontsize=9)
  contrast.set_xticks([])
  contrast.set_yticks([])
  fig.suptitle('Lateral inhibition: each activation is reduced by a Gaussian-'
               'weighted share of its neighbours', fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--output', default=os.path.join(
      REPO_ROOT, 'docs', 'figures', 'li_method.png'))
  args = parser.parse_args(argv)
  render(args.output)
  print('wrote %s' % args.output)


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  main()
