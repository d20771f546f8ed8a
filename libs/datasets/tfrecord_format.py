"""Feature keys of DeepLab's segmentation TFRecords (shared by the builders
and the reader; kept free of TensorFlow so the light preparation tools start
fast)."""

FEATURE_IMAGE = 'image/encoded'
FEATURE_FILENAME = 'image/filename'
FEATURE_FORMAT = 'image/format'
FEATURE_HEIGHT = 'image/height'
FEATURE_WIDTH = 'image/width'
FEATURE_CHANNELS = 'image/channels'
FEATURE_LABEL = 'image/segmentation/class/encoded'
FEATURE_LABEL_FORMAT = 'image/segmentation/class/format'


def shard_name(split, shard, num_shards):
  """DeepLab's file name of a shard: {split}-{shard:05d}-of-{n:05d}.tfrecord."""
  return '%s-%05d-of-%05d.tfrecord' % (split, shard, num_shards)
