"""Generates the synthetic shapes segmentation set (VOC-style raw folder).

Each image is a textured, nearly grey background with a few coloured
geometric objects. There are 5 classes: 0 background, 1 disc, 2 square,
3 triangle, 4 cross. Each object class has its own hue (red, green, blue,
yellow, with small jitter) and its own shape, so the class of every pixel is
decidable from the image. Label pixels on object borders are set to the
ignore value 255 (a band of --ignore_width pixels on each side).

Output layout (the same as PASCAL VOC, so build_voc2012_data.py builds it)::

  <output_dir>/JPEGImages/<name>.jpg
  <output_dir>/SegmentationClass/<name>.png     (grey-scale class ids)
  <output_dir>/ImageSets/Segmentation/{train,val}.txt

  python dataset_generation/make_synthetic_shapes.py --output_dir DIR \
    --num_train 160 --num_val 40 --height 129 --width 129 --seed 0
"""
import argparse
import colorsys
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

CLASS_NAMES = ('background', 'disc', 'square', 'triangle', 'cross')
NUM_CLASSES = len(CLASS_NAMES)
IGNORE_LABEL = 255
# Hue in [0, 1) of each object class (index = class id; background is grey).
CLASS_HUES = (None, 0.0, 1.0 / 3, 2.0 / 3, 1.0 / 6)
_HUE_JITTER = 0.03
_BACKGROUND_MAX_SATURATION = 0.12


def _hsv_to_rgb(hue, saturation, value):
  return np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value)) * 255.0


def _background(rng, height, width):
  """Low-saturation texture: a tilted sinusoid grating plus noise."""
  rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
  angle = rng.uniform(0, np.pi)
  period = rng.uniform(6.0, 24.0)
  phase = rng.uniform(0, 2 * np.pi)
  grating = np.sin((rows * np.sin(angle) + cols * np.cos(angle))
                   * 2 * np.pi / period + phase)
  level = rng.uniform(70.0, 180.0) + rng.uniform(10.0, 35.0) * grating
  tint = _hsv_to_rgb(rng.uniform(), rng.uniform(0, _BACKGROUND_MAX_SATURATION),
                     1.0) / 255.0
  image = level[..., None] * tint[None, None, :]
  image += rng.normal(0.0, 6.0, size=image.shape)
  return image


def _draw_object(draw, class_id, center, radius, angle):
  """Draws one object of `class_id` onto the label canvas `draw`."""
  cy, cx = center
  if CLASS_NAMES[class_id] == 'disc':
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                 fill=class_id)
    return
  if CLASS_NAMES[class_id] == 'square':
    corners = [(radius, radius), (-radius, radius), (-radius, -radius),
               (radius, -radius)]
  elif CLASS_NAMES[class_id] == 'triangle':
    corners = [(1.2 * radius * np.cos(a), 1.2 * radius * np.sin(a))
               for a in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3,
                         np.pi / 2 + 4 * np.pi / 3)]
  else:  # cross: two bars of a plus sign
    arm = radius / 3.0
    corners = [(arm, radius), (-arm, radius), (-arm, arm), (-radius, arm),
               (-radius, -arm), (-arm, -arm), (-arm, -radius), (arm, -radius),
               (arm, -arm), (radius, -arm), (radius, arm), (arm, arm)]
  cos, sin = np.cos(angle), np.sin(angle)
  points = [(cx + x * cos - y * sin, cy + x * sin + y * cos)
            for x, y in corners]
  draw.polygon(points, fill=class_id)


def _ignore_band(label, width):
  """Mask of pixels within `width` pixels of a label change."""
  band = np.zeros(label.shape, bool)
  if width <= 0:
    return band
  height, cols = label.shape
  for dy in range(-width, width + 1):
    for dx in range(-width, width + 1):
      if dy == 0 and dx == 0:
        continue
      shifted = np.pad(label, width, mode='edge')[
          width + dy:width + dy + height, width + dx:width + dx + cols]
      band |= shifted != label
  return band


def generate_sample(rng, height, width, min_objects=1, max_objects=4,
                    ignore_width=1):
  """Returns (image uint8 [H, W, 3], label uint8 [H, W]) drawn with `rng`."""
  label_canvas = Image.new('L', (width, height), 0)
  draw = ImageDraw.Draw(label_canvas)
  short_side = min(height, width)
  for _ in range(rng.randint(min_objects, max_objects + 1)):
    class_id = rng.randint(1, NUM_CLASSES)
    radius = rng.uniform(0.12, 0.24) * short_side
    center = (rng.uniform(radius * 0.5, height - radius * 0.5),
              rng.uniform(radius * 0.5, width - radius * 0.5))
    _draw_object(draw, class_id, center, radius, rng.uniform(0, np.pi / 2))
  label = np.array(label_canvas)

  image = _background(rng, height, width)
  for class_id in range(1, NUM_CLASSES):
    mask = label == class_id
    if not mask.any():
      continue
    hue = CLASS_HUES[class_id] + rng.uniform(-_HUE_JITTER, _HUE_JITTER)
    colour = _hsv_to_rgb(hue, rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0))
    image[mask] = colour + rng.normal(0.0, 8.0, size=(mask.sum(), 3))
  image = np.clip(np.round(image), 0, 255).astype(np.uint8)
  label[_ignore_band(label, ignore_width)] = IGNORE_LABEL
  return image, label


def write_dataset(output_dir, num_train, num_val, height, width, seed=0,
                  min_objects=1, max_objects=4, ignore_width=1,
                  jpeg_quality=95):
  """Writes the raw folder; returns {split: [names]}."""
  if min(num_train, num_val) < 0 or min(height, width) < 8:
    raise ValueError('need --num_train/--num_val >= 0 and --height/--width '
                     '>= 8, got %d, %d, %d, %d'
                     % (num_train, num_val, height, width))
  if not 1 <= min_objects <= max_objects:
    raise ValueError('need 1 <= --min_objects <= --max_objects, got %d, %d'
                     % (min_objects, max_objects))
  folders = {'image': os.path.join(output_dir, 'JPEGImages'),
             'label': os.path.join(output_dir, 'SegmentationClass'),
             'list': os.path.join(output_dir, 'ImageSets', 'Segmentation')}
  for folder in folders.values():
    if not os.path.isdir(folder):
      os.makedirs(folder)
  rng = np.random.RandomState(seed)
  splits = {'train': [], 'val': []}
  order = [('train', i) for i in range(num_train)]
  order += [('val', i) for i in range(num_val)]
  for split, index in order:
    name = '%s_%05d' % (split, index)
    image, label = generate_sample(rng, height, width, min_objects,
                                   max_objects, ignore_width)
    Image.fromarray(image).save(
        os.path.join(folders['image'], name + '.jpg'), quality=jpeg_quality)
    Image.fromarray(label).save(os.path.join(folders['label'], name + '.png'))
    splits[split].append(name)
  for split, names in splits.items():
    with open(os.path.join(folders['list'], split + '.txt'), 'w') as handle:
      handle.writelines(name + '\n' for name in names)
  return splits


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--output_dir', required=True)
  parser.add_argument('--num_train', type=int, default=160)
  parser.add_argument('--num_val', type=int, default=40)
  parser.add_argument('--height', type=int, default=129)
  parser.add_argument('--width', type=int, default=129)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--min_objects', type=int, default=1)
  parser.add_argument('--max_objects', type=int, default=4)
  parser.add_argument('--ignore_width', type=int, default=1,
                      help='Ignore band half-width on object borders.')
  parser.add_argument('--jpeg_quality', type=int, default=95)
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  try:
    splits = write_dataset(args.output_dir, args.num_train, args.num_val,
                           args.height, args.width, args.seed,
                           args.min_objects, args.max_objects,
                           args.ignore_width, args.jpeg_quality)
  except ValueError as error:
    sys.stderr.write('error: %s\n' % error)
    return 1
  sys.stdout.write('synthetic shapes: %d train, %d val images in %s\n'
                   % (len(splits['train']), len(splits['val']),
                      args.output_dir))
  return 0


if __name__ == '__main__':
  sys.exit(main())
