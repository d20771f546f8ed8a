"""The training input pipeline holds what the original's held
(docs/performance.md, Memory): a 100-sample shuffle buffer of preprocessed
samples, then batches, ``batch_size`` of them prefetched; tf.data's
autotuning is off on TensorFlow 2.x (its thread made closing a session
wait, docs/performance.md, Whole runs)."""
import pytest
import tensorflow.compat.v1 as tf

from libs.datasets import data_generator

pytestmark = pytest.mark.tf2


def _chain(dataset):
  """The dataset ops from the output back to the records, with their
  constant inputs (options left out)."""
  op = dataset._variant_tensor.op
  chain = []
  while op is not None:
    if op.type != 'OptionsDataset':
      consts = [tf.get_static_value(t) for t in op.inputs[1:]]
      chain.append((op.type, consts))
    variants = [t.op for t in op.inputs if t.dtype == tf.variant]
    op = variants[0] if variants else None
  return chain


def _training_dataset(folder, batch_size):
  with tf.io.TFRecordWriter(
      str(folder / 'train-00000-of-00001.tfrecord')) as writer:
    writer.write(b'a record')  # counted, never parsed: the graph is only built
  return data_generator.Dataset(
      'ade20k', 'train', str(folder), batch_size, [65, 65],
      is_training=True, should_shuffle=True, should_repeat=True,
      seed=1).get_dataset()


@pytest.mark.parametrize('batch_size', [2, 8])
def test_training_pipeline_buffers(tmp_path, fresh_graph, batch_size):
  dataset = _training_dataset(tmp_path, batch_size)
  chain = _chain(dataset)
  types = [t for t, _ in chain]
  assert types[0] == 'PrefetchDataset'
  assert chain[0][1][0] == batch_size  # batches, not samples
  assert types[1].startswith('BatchDataset')
  assert types[2] == 'RepeatDataset'
  shuffle = types.index(next(t for t in types if t.startswith('Shuffle')))
  assert shuffle == 3 and chain[shuffle][1][0] == 100
  # The buffer holds preprocessed samples: the maps come before it.
  assert all('MapDataset' in t for t in types[shuffle + 1:shuffle + 3])


def test_autotuning_is_off_where_tensorflow_has_it(tmp_path, fresh_graph):
  dataset = _training_dataset(tmp_path, 2)
  options = dataset.options()
  if hasattr(options, 'autotune'):  # TensorFlow 2.x
    assert options.autotune.enabled is False
  else:  # TensorFlow 1.15: no such option, and no options op added
    assert dataset._variant_tensor.op.type == 'PrefetchDataset'
