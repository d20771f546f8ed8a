"""Class names and colours of the datasets, in one table.

Read by predict.py (colour maps), the result tables of test.py and
validate.py (per-class IoU with names) and the plots.  Each entry holds one
name and one RGB colour per label value ``0 .. num_classes - 1`` as the
datasets' records store them:

* ``ade20k``: 151 values; 0 is "other" (unlabelled, the ignore label) and
  1..150 are the SceneParsing-150 classes in the order of the benchmark's
  ``objectInfo150``; colours are the benchmark's standard ones, black for 0.
* ``pascal_voc_seg``: 21 values, background and the 20 VOC classes; colours
  from VOC's bit-interleaving rule (``voc_palette``).
* ``celeba_mask``: 19 values, background and the 18 CelebAMask-HQ parts in
  the order the builder combines them; the dataset's standard colours.
* ``cityscapes``: the 19 training ids and their standard colours.
* ``synthetic_shapes``: the demo's background and four shapes.

Any other dataset (a config's own, see li_programs/config/dataset_info.py) gets
``class_<i>`` names unless its config names them, and generated colours
(``generated_palette``).
"""
import colorsys

import numpy as np

ADE20K_CLASSES = (
    'other', 'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road',
    'bed', 'windowpane', 'grass', 'cabinet', 'sidewalk', 'person', 'earth',
    'door', 'table', 'mountain', 'plant', 'curtain', 'chair', 'car', 'water',
    'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field',
    'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe', 'lamp',
    'bathtub', 'railing', 'cushion', 'base', 'box', 'column', 'signboard',
    'chest of drawers', 'counter', 'sand', 'sink', 'skyscraper', 'fireplace',
    'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case',
    'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge',
    'bookcase', 'blind', 'coffee table', 'toilet', 'flower', 'book', 'hill',
    'bench', 'countertop', 'stove', 'palm', 'kitchen island', 'computer',
    'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel', 'bus', 'towel',
    'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight',
    'booth', 'television receiver', 'airplane', 'dirt track', 'apparel',
    'pole', 'land', 'bannister', 'escalator', 'ottoman', 'bottle', 'buffet',
    'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer belt', 'canopy',
    'washer', 'plaything', 'swimming pool', 'stool', 'barrel', 'basket',
    'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food',
    'step', 'tank', 'trade name', 'microwave', 'pot', 'animal', 'bicycle',
    'lake', 'dishwasher', 'screen', 'blanket', 'sculpture', 'hood', 'sconce',
    'vase', 'traffic light', 'tray', 'ashcan', 'fan', 'pier', 'crt screen',
    'plate', 'monitor', 'bulletin board', 'shower', 'radiator', 'glass',
    'clock', 'flag')

# Label 1..150, one RGB triple each (label 0 is drawn black).
_ADE20K_COLOURS = (
    120, 120, 120, 180, 120, 120, 6, 230, 230, 80, 50, 50, 4, 200, 3,
    120, 120, 80, 140, 140, 140, 204, 5, 255, 230, 230, 230, 4, 250, 7,
    224, 5, 255, 235, 255, 7, 150, 5, 61, 120, 120, 70, 8, 255, 51,
    255, 6, 82, 143, 255, 140, 204, 255, 4, 255, 51, 7, 204, 70, 3,
    0, 102, 200, 61, 230, 250, 255, 6, 51, 11, 102, 255, 255, 7, 71,
    255, 9, 224, 9, 7, 230, 220, 220, 220, 255, 9, 92, 112, 9, 255,
    8, 255, 214, 7, 255, 224, 255, 184, 6, 10, 255, 71, 255, 41, 10,
    7, 255, 255, 224, 255, 8, 102, 8, 255, 255, 61, 6, 255, 194, 7,
    255, 122, 8, 0, 255, 20, 255, 8, 41, 255, 5, 153, 6, 51, 255,
    235, 12, 255, 160, 150, 20, 0, 163, 255, 140, 140, 140, 250, 10, 15,
    20, 255, 0, 31, 255, 0, 255, 31, 0, 255, 224, 0, 153, 255, 0,
    0, 0, 255, 255, 71, 0, 0, 235, 255, 0, 173, 255, 31, 0, 255,
    11, 200, 200, 255, 82, 0, 0, 255, 245, 0, 61, 255, 0, 255, 112,
    0, 255, 133, 255, 0, 0, 255, 163, 0, 255, 102, 0, 194, 255, 0,
    0, 143, 255, 51, 255, 0, 0, 82, 255, 0, 255, 41, 0, 255, 173,
    10, 0, 255, 173, 255, 0, 0, 255, 153, 255, 92, 0, 255, 0, 255,
    255, 0, 245, 255, 0, 102, 255, 173, 0, 255, 0, 20, 255, 184, 184,
    0, 31, 255, 0, 255, 61, 0, 71, 255, 255, 0, 204, 0, 255, 194,
    0, 255, 82, 0, 10, 255, 0, 112, 255, 51, 0, 255, 0, 194, 255,
    0, 122, 255, 0, 255, 163, 255, 153, 0, 0, 255, 10, 255, 112, 0,
    143, 255, 0, 82, 0, 255, 163, 255, 0, 255, 235, 0, 8, 184, 170,
    133, 0, 255, 0, 255, 92, 184, 0, 255, 255, 0, 31, 0, 184, 255,
    0, 214, 255, 255, 0, 112, 92, 255, 0, 0, 224, 255, 112, 224, 255,
    70, 184, 160, 163, 0, 255, 153, 0, 255, 71, 255, 0, 255, 0, 163,
    255, 204, 0, 255, 0, 143, 0, 255, 235, 133, 255, 0, 255, 0, 235,
    245, 0, 255, 255, 0, 122, 255, 245, 0, 10, 190, 212, 214, 255, 0,
    0, 204, 255, 20, 0, 255, 255, 255, 0, 0, 153, 255, 0, 41, 255,
    0, 255, 204, 41, 0, 255, 41, 255, 0, 173, 0, 255, 0, 245, 255,
    71, 0, 255, 122, 0, 255, 0, 255, 184, 0, 92, 255, 184, 255, 0,
    0, 133, 255, 255, 214, 0, 25, 194, 194, 102, 255, 0, 92, 0, 255)

PASCAL_VOC_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')

CELEBAMASK_HQ_CLASSES = (
    'background', 'skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow',
    'r_brow', 'l_ear', 'r_ear', 'mouth', 'u_lip', 'l_lip', 'hair', 'hat',
    'ear_r', 'neck_l', 'neck', 'cloth')

_CELEBAMASK_HQ_COLOURS = (
    0, 0, 0, 204, 0, 0, 76, 153, 0, 204, 204, 0, 51, 51, 255, 204, 0, 204,
    0, 255, 255, 255, 204, 204, 102, 51, 0, 255, 0, 0, 102, 204, 0,
    255, 255, 0, 0, 0, 153, 0, 0, 204, 255, 51, 153, 0, 204, 204, 0, 51, 0,
    255, 153, 51, 0, 204, 0)

CITYSCAPES_CLASSES = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
    'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
    'truck', 'bus', 'train', 'motorcycle', 'bicycle')

_CITYSCAPES_COLOURS = (
    128, 64, 128, 244, 35, 232, 70, 70, 70, 102, 102, 156, 190, 153, 153,
    153, 153, 153, 250, 170, 30, 220, 220, 0, 107, 142, 35, 152, 251, 152,
    70, 130, 180, 220, 20, 60, 255, 0, 0, 0, 0, 142, 0, 0, 70, 0, 60, 100,
    0, 80, 100, 0, 0, 230, 119, 11, 32)

SYNTHETIC_SHAPES_CLASSES = ('background', 'disc', 'square', 'triangle',
                            'cross')
# Black background; the shapes in the hues they are drawn in.
_SYNTHETIC_SHAPES_COLOURS = (0, 0, 0, 230, 40, 40, 40, 200, 40, 50, 80, 230,
                             230, 210, 40)


def voc_palette(num_colours=256):
  """PASCAL VOC's colour map: the bits of the label value, read from the
  lowest up in groups of three, fill the red, green and blue channels from
  their highest bit down."""
  palette = np.zeros((num_colours, 3), np.uint8)
  for label in range(num_colours):
    value, rgb = label, [0, 0, 0]
    shift = 7
    while value:
      for channel in range(3):
        rgb[channel] |= ((value >> channel) & 1) << shift
      value >>= 3
      shift -= 1
    palette[label] = rgb
  return palette


def generated_palette(num_colours):
  """Distinct colours for a dataset without standard ones: black for 0,
  then hues around the circle in golden-ratio steps at three brightness
  levels, so neighbouring ids differ clearly."""
  palette = np.zeros((num_colours, 3), np.uint8)
  golden = (5 ** 0.5 - 1) / 2
  for label in range(1, num_colours):
    hue = (label * golden) % 1.0
    value = (1.0, 0.75, 0.55)[label % 3]
    saturation = (0.85, 0.65, 1.0)[(label // 3) % 3]
    palette[label] = np.round(
        np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255)
  return palette


def _colours(flat):
  return np.asarray(flat, np.uint8).reshape(-1, 3)


def _ade20k_palette():
  return np.concatenate([np.zeros((1, 3), np.uint8),
                         _colours(_ADE20K_COLOURS)])


# dataset name -> (class names, palette factory).
_TABLE = {
    'ade20k': (ADE20K_CLASSES, _ade20k_palette),
    'pascal_voc_seg': (PASCAL_VOC_CLASSES, lambda: voc_palette(21)),
    'celeba_mask': (CELEBAMASK_HQ_CLASSES,
                    lambda: _colours(_CELEBAMASK_HQ_COLOURS)),
    'cityscapes': (CITYSCAPES_CLASSES, lambda: _colours(_CITYSCAPES_COLOURS)),
    'synthetic_shapes': (SYNTHETIC_SHAPES_CLASSES,
                         lambda: _colours(_SYNTHETIC_SHAPES_COLOURS)),
}


def known_datasets():
  """Names of the datasets with built-in class names and colours."""
  return sorted(_TABLE)


def default_class_names(num_classes):
  return tuple('class_%d' % i for i in range(num_classes))


def class_names(dataset_name, num_classes):
  """The names of label values ``0 .. num_classes - 1``: the table's for a
  known dataset of that size, else ``class_<i>``."""
  entry = _TABLE.get(dataset_name)
  if entry is not None and len(entry[0]) == num_classes:
    return tuple(entry[0])
  return default_class_names(num_classes)


def palette(dataset_name, num_classes):
  """uint8 ``[max(num_classes, 256), 3]`` RGB colours: the dataset's
  standard ones for its labels (PASCAL VOC's rule beyond them, so that any
  uint8 label value has a colour), a generated set for other datasets."""
  size = max(int(num_classes), 256)
  entry = _TABLE.get(dataset_name)
  if entry is None or len(entry[0]) != num_classes:
    return generated_palette(size)
  colours = entry[1]()
  out = voc_palette(size)
  out[:len(colours)] = colours
  return out
