"""Side-by-side plots of image | prediction | label.

Class colours are the dataset's (libs/datasets/dataset_classes.py, passed
in by test.py with the class names, which then label a legend of the
classes shown), else seaborn's ``hls`` palette with one colour per class;
pixels carrying the ignore label are drawn black (white with the dataset's
colours, where black is a class).
"""

import os

import numpy as np

from li_programs.report import pyplot


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
              title=None, palette=None, class_names=None):
  """Writes a PNG with three panels: image | prediction | label.

  Args:
    path: output file, its folder is created if needed.
    image: ``[H, W, 3]`` image (0..255 values, any numeric dtype).
    prediction, label: ``[H, W]`` (or ``[H, W, 1]``) integer maps.
    num_classes, ignore_label: dataset description, for the colours.
    title: optional figure title (e.g. the per-image mIoU).
    palette: optional uint8 ``[N, 3]`` class colours (default: 'hls').
    class_names: optional names of the label values, for a legend of the
      classes in the prediction and the label.
  """
  plt = pyplot.pyplot()

  dataset_colours = palette is not None
  palette = class_palette(num_classes) if palette is None else palette
  image = np.clip(np.asarray(image, dtype=np.float64), 0, 255)
  image = image.astype(np.uint8)
  label_rgb = colorize(label, palette, ignore_label)
  ignored = np.asarray(label).reshape(label_rgb.shape[:2]) == ignore_label
  if dataset_colours:
    # Black is a class colour in the dataset tables: ignored pixels white.
    label_rgb[ignored] = 255
  panels = [('image', image),
            ('prediction', colorize(prediction, palette, ignore_label)),
            ('label', label_rgb)]
  fig, axes = plt.subplots(1, 3, figsize=(12, 4))
  for axis, (name, panel) in zip(axes, panels):
    axis.imshow(panel)
    axis.set_title(name)
    axis.axis('off')
  if title:
    fig.suptitle(title)
  if class_names is not None:
    from matplotlib.patches import Patch
    shown = np.union1d(np.unique(prediction), np.unique(label))
    shown = [int(v) for v in shown if 0 <= v < min(len(class_names),
                                                   len(palette))
             and v != ignore_label]
    handles = [Patch(color=np.asarray(palette[v]) / 255.0,
                     label=class_names[v]) for v in shown]
    if ignored.any() and dataset_colours:
      handles.append(Patch(facecolor='white', edgecolor='grey',
                           label='ignored (%d)' % ignore_label))
    fig.legend(handles=handles, loc='lower center',
               ncol=min(max(len(handles), 1), 8), fontsize=8, frameon=False)
  folder = os.path.dirname(path)
  if folder:
    os.makedirs(folder, exist_ok=True)
  fig.savefig(path, bbox_inches='tight')
  plt.close(fig)
  return path
