"""Turns TensorFlow errors raised by an input pipeline into one-line errors
naming the TFRecord file and the record (see libs/datasets/record_checks
and record_scan)."""
import tensorflow.compat.v1 as tf

from libs.datasets import record_checks
from libs.datasets import record_scan

_DATA_LOSS_WORDS = ('truncated record', 'corrupted record')


def _message(err):
  return str(getattr(err, 'message', err))


def from_pipeline_error(err, files, output_stride=None):
  """A ``record_checks.RecordError`` explaining ``err``, or None when
  ``err`` does not come from the records.

  Args:
    err: a tf.errors.OpError raised while running a graph fed by the
      pipeline.
    files: the TFRecord files the pipeline reads.
    output_stride: of the model, to suggest an evaluation crop.
  """
  message = _message(err)
  explained = record_checks.explain_check_failure(message, output_stride)
  if explained is not None:
    return record_checks.RecordError(explained)
  if record_scan.is_decode_error(message):
    found = record_scan.find_undecodable_record(files or [])
    if found is not None:
      return record_checks.RecordError(
          record_scan.undecodable_record_message(found))
  if isinstance(err, tf.errors.DataLossError) or any(
      word in message for word in _DATA_LOSS_WORDS):
    found = record_checks.explain_data_loss(files or [])
    if found is not None:
      return found
    first = message.strip().splitlines()
    return record_checks.RecordError(
        'a TFRecord file of %s is damaged (%s): rebuild the dataset' % (
            ', '.join(files or []) or 'the split',
            first[0] if first else type(err).__name__))
  return None
