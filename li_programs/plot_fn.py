"""Side-by-side plots of image | prediction | label.

Class colours come from seaborn's ``hls`` palette with one colour per class;
pixels carrying the ignore label are drawn black.
"""

import os

import numpy as np


def class_palette(num_classes):
  """Returns a uint8 ``[num_classes, 3]`` RGB table from seaborn 'hls'."""
  import seaborn as sns  # imported lazily: slow and only needed for plots
  colours = np.asarray(sns.color_palette('hls', num_classes))
  return np.round(colours * 255).astype(np.uint8)


def colorize(label_map, palette, ignore_label=None):
  """Maps an integer ``[H, W]`` label map to an RGB uint8 image."""
  label_map = np.asarray(label_map)
  if label_map.ndim == 3 and label_map.shape[-1] == 1:
    label_map = label_map[..., 0]
  out = np.zeros(label_map.shape + (3,), dtype=np.uint8)
  valid = (label_map >= 0) & (label_map < len(palette))
  if ignore_label is not None:
    valid &= label_map != ignore_label
  out[valid] = palette[label_map[valid]]
  return out


def save_plot(path, image, prediction, label, num_classes, ignore_label,
              title=None):
  """Writes a PNG with three panels: image | prediction | label.

  Args:
    path: output file, its folder is created if needed.
    image: ``[H, W, 3]`` image (0..255 values, any numeric dtype).
    prediction, label: ``[H, W]`` (or ``[H, W, 1]``) integer maps.
    num_classes, ignore_label: dataset description, for the colours.
    title: optional figure title (e.g. the per-image mIoU).
  """
  import matplotlib  # lazily: slow, and Agg must be chosen before pyplot
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt

  palette = class_palette(num_classes)
  image = np.clip(np.asarray(image, dtype=np.float64), 0, 255)
  image = image.astype(np.uint8)
  panels = [('image', image),
            ('prediction', colorize(prediction, palette, ignore_label)),
            ('label', colorize(label, palette, ignore_label))]
  fig, axes = plt.subplots(1, 3, figsize=(12, 4))
  for axis, (name, panel) in zip(axes, panels):
    axis.imshow(panel)
    axis.set_title(name)
    axis.axis('off')
  if title:
    fig.suptitle(title)
  folder = os.path.dirname(path)
  if folder:
    os.makedirs(folder, exist_ok=True)
  fig.savefig(path, bbox_inches='tight')
  plt.close(fig)
  return path
