"""Issue 26 for datasets: builds replace a split atomically (temporary
names, old shards of any -of-N removed, SIGTERM leaves the old split);
readers refuse mixed, gapped and empty shard sets; undecodable image or
label bytes and garbage after the records are named with file and record in
training, validation and test."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from helpers import programs as h
from dataset_generation import build_data
from dataset_generation import build_voc2012_data
from libs.datasets import data_generator
from li_programs.config import cli

pytestmark = [pytest.mark.slow, pytest.mark.tf2]

train_prog = h.load_program('train')
validate_prog = h.load_program('validate')
test_prog = h.load_program('test')


def _build(raw, records, num_shards):
  return build_data.run_main(build_voc2012_data.main, [
      '--image_folder', os.path.join(raw, 'JPEGImages'),
      '--semantic_segmentation_folder', os.path.join(raw, 'SegmentationClass'),
      '--list_folder', os.path.join(raw, 'ImageSets', 'Segmentation'),
      '--output_dir', records, '--num_shards', str(num_shards)])


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('robust_records'))
  _, raw, config = h.synthetic_setup(root)
  records = os.path.join(root, 'two_shards')
  assert _build(raw, records, 2) == 0
  checkpoint = h.save_model_checkpoint(config, os.path.join(
      root, 'ckpt', 'model.ckpt'))
  return dict(root=root, raw=raw, config=config, records=records,
              checkpoint=checkpoint)


def _copy(env, name):
  target = os.path.join(env['root'], name)
  shutil.copytree(env['records'], target)
  return target


def _contents(folder):
  return {n: open(os.path.join(folder, n), 'rb').read()
          for n in sorted(os.listdir(folder))}


def _run(module, prog, argv, capsys):
  status = cli.run_program(prog, module.main, argv)
  captured = capsys.readouterr()
  return status, captured.out, [l for l in captured.err.splitlines()
                                if ': error: ' in l]


def _program(env, module, prog, records, capsys, *flags):
  argv = ['--config_file', env['config'], '--dataset_dir', records,
          '--snapshot_root', os.path.join(records, 'snap')]
  if prog == 'test.py':
    argv += ['--checkpoint_path', env['checkpoint']]
  if prog == 'train.py':
    argv += ['--num_clones=1', '--training_number_of_steps=2']
  if prog == 'validate.py':
    train_dir = os.path.join(records, 'snap', 'tiny', 'train')
    os.makedirs(train_dir, exist_ok=True)
    for path in (env['checkpoint'] + '.index',
                 env['checkpoint'] + '.data-00000-of-00001'):
      shutil.copy(path, os.path.join(train_dir, os.path.basename(
          path).replace('model.ckpt', 'model.ckpt-1')))
  return _run(module, prog, argv + list(flags), capsys)


# -- Row 6: interrupted builds and builds with another --num_shards. ------

def test_a_rebuild_replaces_every_shard_of_its_split(env):
  records = _copy(env, 'rebuild')
  assert _build(env['raw'], records, 3) == 0
  assert sorted(os.listdir(records)) == [
      '%s-%05d-of-00003.tfrecord' % (s, i) for s in ('train', 'val')
      for i in range(3)]


_INTERRUPTED_BUILD = """
import os, signal, sys
from dataset_generation import build_data, build_voc2012_data
make_example = build_data.make_example
made = []

def make_then_stop(*args):
  made.append(args)
  if len(made) == 3:  # within the second shard of the train split
    os.kill(os.getpid(), signal.SIGTERM)
  return make_example(*args)

build_data.make_example = make_then_stop
sys.exit(build_data.run_main(build_voc2012_data.main, sys.argv[1:]))
"""


def test_sigterm_during_a_build_leaves_the_split_as_it_was(env):
  records = _copy(env, 'interrupted')
  before = _contents(records)
  raw = env['raw']
  result = subprocess.run(
      [sys.executable, '-c', _INTERRUPTED_BUILD, '--image_folder',
       os.path.join(raw, 'JPEGImages'), '--semantic_segmentation_folder',
       os.path.join(raw, 'SegmentationClass'), '--list_folder',
       os.path.join(raw, 'ImageSets', 'Segmentation'), '--output_dir',
       records, '--num_shards', '2'], cwd=h.REPO_ROOT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, timeout=300)
  assert result.returncode == 143, result.stderr
  assert result.stderr.strip().splitlines()[-1] == (
      'error: interrupted by signal 15; the split being written was left as '
      'it was before this build')
  assert _contents(records) == before  # no partial or hidden file either


@pytest.mark.parametrize('damage', ['mixed', 'gap', 'empty_shard',
                                    'all_empty'])
def test_readers_refuse_an_incomplete_shard_set(env, capsys, damage):
  records = _copy(env, 'set_' + damage)
  val = [os.path.join(records, 'val-%05d-of-00002.tfrecord' % i)
         for i in range(2)]
  if damage == 'mixed':  # an older build with 4 shards left beside
    for i in range(4):
      shutil.copy(val[i % 2], os.path.join(
          records, 'val-%05d-of-00004.tfrecord' % i))
    expected = ("split 'val' in %s mixes shard sets: 2 file(s) of -of-00002 "
                "(val-00000-of-00002.tfrecord, val-00001-of-00002.tfrecord); 4 "
                "file(s) of -of-00004 (" % records)
  elif damage == 'gap':
    os.remove(val[0])
    expected = ("split 'val' in %s is missing 1 of its 2 shards "
                "(val-00000-of-00002.tfrecord), an interrupted build or copy"
                % records)
  elif damage == 'empty_shard':
    open(val[0], 'w').close()
    expected = ('TFRecord file %s is empty (0 bytes) while later shards of '
                "split 'val' in %s hold records" % (val[0], records))
  else:
    for path in val:
      open(path, 'w').close()
    expected = ("split 'val' in %s holds no records: its 2 file(s) are empty"
                % records)
  # An earlier result of the same checkpoint must survive the refusal.
  out_dir = os.path.join(records, 'snap', 'tiny', 'test', 'model.ckpt',
                         'eval_scale_1.0')
  os.makedirs(out_dir)
  with open(os.path.join(out_dir, 'test_result.txt'), 'w') as f:
    f.write('mIoU: 12.34%, acc: 56.78%\n')
  status, _, err = _program(env, test_prog, 'test.py', records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('test.py: error: ' + expected), err[0]
  assert err[0].endswith('rebuild the split (see docs/datasets.md) or '
                         'remove the stray files')
  assert open(os.path.join(out_dir, 'test_result.txt')).read() == (
      'mIoU: 12.34%, acc: 56.78%\n')
  with pytest.raises(data_generator.DatasetError):
    data_generator.get_split_files(records, 'val')


# -- Rows 8 and 9: records that cannot be read. ---------------------------

def _rewrite_record(path, index, image=None, label=None):
  """Replaces the image or label bytes of record ``index`` of ``path``."""
  examples = [tf.train.Example.FromString(r)
              for r in tf.io.tf_record_iterator(path)]
  features = examples[index].features.feature
  if image is not None:
    features['image/encoded'].bytes_list.value[0] = image
  if label is not None:
    features['image/segmentation/class/encoded'].bytes_list.value[0] = label
  with tf.io.TFRecordWriter(path) as writer:
    for example in examples:
      writer.write(example.SerializeToString())
  name = features['image/filename'].bytes_list.value[0].decode()
  return name


_NOT_A_JPEG = b'\xff\xd8\xff\xe0' + bytes(range(256)) * 8


@pytest.mark.parametrize('program', ['train', 'validate', 'test'])
def test_undecodable_image_bytes_name_the_file_and_record(env, capsys,
                                                          program):
  records = _copy(env, 'bad_image_' + program)
  split = 'train' if program == 'train' else 'val'
  path = os.path.join(records, '%s-00001-of-00002.tfrecord' % split)
  name = _rewrite_record(path, 1, image=_NOT_A_JPEG)
  if program == 'train':  # every record bad: the first step meets one
    for i in range(2):
      shard = os.path.join(records, 'train-%05d-of-00002.tfrecord' % i)
      for index in range(2):
        _rewrite_record(shard, index, image=_NOT_A_JPEG)
    name = None
  module = {'train': train_prog, 'validate': validate_prog,
            'test': test_prog}[program]
  status, _, err = _program(env, module, program + '.py', records, capsys)
  assert status == 2 and len(err) == 1, err
  if name is None:
    assert err[0].startswith("%s.py: error: record '" % program), err[0]
    assert "(record 1) in %s/train-00000-of-00002.tfrecord: its image bytes " \
        'cannot be decoded (' % records in err[0]
  else:
    assert err[0].startswith(
        "%s.py: error: record '%s' (record 2) in %s: its image bytes cannot "
        "be decoded (" % (program, name, path)), err[0]
  assert err[0].endswith('rebuild the record from a readable image file (see '
                         'docs/datasets.md)')


def test_undecodable_label_bytes_name_the_file_and_record(env, capsys):
  records = _copy(env, 'bad_label')
  path = os.path.join(records, 'val-00000-of-00002.tfrecord')
  name = _rewrite_record(path, 1, label=b'no label here')
  status, _, err = _program(env, test_prog, 'test.py', records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith(
      "test.py: error: record '%s' (record 2) in %s: its label bytes cannot "
      "be decoded (" % (name, path)), err[0]


@pytest.mark.parametrize('program', ['train', 'validate', 'test'])
def test_garbage_after_the_records_names_the_file(env, capsys, program):
  records = _copy(env, 'garbage_' + program)
  split = 'train' if program == 'train' else 'val'
  path = os.path.join(records, '%s-00000-of-00002.tfrecord' % split)
  with open(path, 'ab') as f:
    f.write(np.random.RandomState(0).bytes(3000))
  module = {'train': train_prog, 'validate': validate_prog,
            'test': test_prog}[program]
  status, _, err = _program(env, module, program + '.py', records, capsys)
  assert status == 2 and len(err) == 1, err
  assert err[0].startswith('%s.py: error: TFRecord file %s is truncated or '
                           'corrupt after 2 good records (' % (program, path)
                           ), err[0]
