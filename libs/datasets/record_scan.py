"""Finds the record whose image or label bytes cannot be decoded.

When decoding fails inside an input pipeline, TensorFlow's error names the
op, not the record.  ``find_undecodable_record`` reads the TFRecord files
again, one record at a time, and decodes each image and label with the
pipeline's own decoder until one fails, so the error can name the file,
the record's number and its image name.  It runs only after such a
failure.
"""
import tensorflow.compat.v1 as tf

from libs.core import error_text
from libs.datasets import tfrecord_format as fmt

# Words of TensorFlow's errors from decoding or parsing a record.
DECODE_ERROR_WORDS = (
    'decode_image', 'DecodeImage', 'DecodeJpeg', 'DecodePng', 'DecodeBmp',
    'DecodeGif', 'Unknown image file format', 'jpeg::Uncompress',
    'Invalid JPEG data', 'Invalid PNG data', 'Could not parse example',
    'ParseExample', 'ParseSingleExample')


def is_decode_error(message):
  return any(word in (message or '') for word in DECODE_ERROR_WORDS)


def _bytes_feature(example, key):
  feature = example.features.feature.get(key)
  if feature is None or not feature.bytes_list.value:
    return b''
  return feature.bytes_list.value[0]


def find_undecodable_record(files):
  """The first record of ``files`` that does not decode.

  Returns:
    ``(path, number, image name, what, cause)`` with ``number`` counted
    from 1 and ``what`` 'image', 'label' or 'record' (not a tf.Example),
    or None when every record decodes.
  """
  graph = tf.Graph()
  with graph.as_default():
    content = tf.placeholder(tf.string, [])
    decoded = {channels: tf.image.decode_image(content, channels=channels,
                                               expand_animations=False)
               for channels in (1, 3)}
  with tf.Session(graph=graph) as sess:
    for path in files:
      try:
        records = list(tf.io.tf_record_iterator(path))
      except tf.errors.OpError:
        records = []  # a damaged file is named by record_checks instead
      for number, record in enumerate(records, 1):
        try:
          example = tf.train.Example.FromString(record)
        except Exception as err:  # protobuf's DecodeError
          return path, number, '?', 'record', str(err) or 'not a tf.Example'
        name = _bytes_feature(example, fmt.FEATURE_FILENAME).decode(
            'utf-8', 'replace')
        for what, key, channels in (('image', fmt.FEATURE_IMAGE, 3),
                                    ('label', fmt.FEATURE_LABEL, 1)):
          try:
            sess.run(decoded[channels],
                     {content: _bytes_feature(example, key)})
          except tf.errors.OpError as err:
            return path, number, name, what, error_text.first_line(err)
  return None


def undecodable_record_message(found):
  path, number, name, what, cause = found
  if what == 'record':
    return ('record %d of %s is not a tf.Example (%s): rebuild the dataset '
            '(see docs/datasets.md)' % (number, path, cause))
  return ('record %r (record %d) in %s: its %s bytes cannot be decoded (%s); '
          'rebuild the record from a readable %s file (see docs/datasets.md)'
          % (name, number, path, what, cause, what))
