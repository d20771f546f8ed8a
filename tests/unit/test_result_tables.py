"""metrics.json, per_class_iou.csv, the confusion PNG, run.json and the run
plot, written from hand-made inputs."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers.paths import REPO_ROOT
from libs.datasets import dataset_classes
from li_programs.config import cli
from li_programs.report import confusion_plot
from li_programs.evaluate import metrics
from li_programs.report import result_tables
from li_programs.report import run_plot
from li_programs.runtime import run_record

pytestmark = pytest.mark.tf2


def _hist():
  # 3 classes; class 2 never labelled nor predicted.
  return np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]], np.int64)


def test_test_tables_hold_every_metric_with_class_names(tmp_path):
  hist = _hist()
  seg = metrics.metrics_from_hist(hist, 3)
  json_path, csv_path = result_tables.write_test_tables(
      str(tmp_path), hist, seg, [(0, 'sky'), (1, 'road'), (2, 'car')],
      checkpoint='/x/model.ckpt-5', engine='session')
  record = json.load(open(json_path))
  assert record['checkpoint'] == '/x/model.ckpt-5'
  assert record['engine'] == 'session'
  assert record['miou'] == pytest.approx(np.mean([8 / 11., 9 / 12.]))
  assert record['pixel_accuracy'] == pytest.approx(17 / 20.)
  assert record['class_accuracy'] == pytest.approx(np.mean([0.8, 0.9]))
  assert record['fw_iou'] == pytest.approx(seg.fwavacc)
  sky, road, car = record['per_class']
  assert sky == {'label': 0, 'name': 'sky', 'iou': pytest.approx(8 / 11.),
                 'accuracy': pytest.approx(0.8), 'gt_pixels': 10,
                 'predicted_pixels': 9}
  assert car['iou'] is None and car['accuracy'] is None  # JSON null
  rows = list(csv.reader(open(csv_path)))
  assert rows[0] == ['label', 'name', 'iou', 'accuracy', 'gt_pixels',
                     'predicted_pixels']
  assert rows[2] == ['1', 'road', '%.6f' % (9 / 12.), '0.900000', '10', '11']
  assert rows[3][2:4] == ['', '']


def test_val_tables_keep_earlier_checkpoints_and_name_the_best(tmp_path):
  classes = [(0, 'sky'), (1, 'road'), (2, 'car')]
  hist = _hist()
  seg = metrics.metrics_from_hist(hist, 3)
  first = result_tables.ValTables(str(tmp_path), classes, split='val')
  first.add('/r/model.ckpt-10', hist, seg, engine='tflite')
  perfect = np.diag([5, 5, 5])
  second = result_tables.ValTables(str(tmp_path), classes, split='val')
  second.add('/r/model.ckpt-20', perfect, metrics.metrics_from_hist(
      perfect, 3))
  second.add('/r/model.ckpt-5', perfect, metrics.metrics_from_hist(perfect,
                                                                   3))
  record = json.load(open(os.path.join(str(tmp_path), 'metrics.json')))
  assert [e['global_step'] for e in record['checkpoints']] == [5, 10, 20]
  assert record['checkpoints'][1]['engine'] == 'tflite'
  # Ties go to the first checkpoint, as val_result.txt's best (and the
  # original's).
  assert record['best']['checkpoint'] == '/r/model.ckpt-5'
  rows = list(csv.reader(open(os.path.join(str(tmp_path),
                                           'per_class_iou.csv'))))
  assert rows[0] == ['label', 'name', 'model.ckpt-5', 'model.ckpt-10',
                     'model.ckpt-20']
  assert rows[3] == ['2', 'car', '1.000000', '', '1.000000']


def test_confusion_axes_add_the_unlabelled_column_for_ade20k():
  names = dataset_classes.class_names('ade20k', 151)
  rows, columns = result_tables.confusion_axes(names, 0)
  assert len(rows) == 150 and rows[0] == 'wall'
  assert len(columns) == 151 and columns[-1] == 'other'
  rows, columns = result_tables.confusion_axes(('a', 'b'), 255)
  assert rows == columns == ['a', 'b']


def test_confusion_png_is_row_normalised_and_grows_with_classes(tmp_path):
  normalised = confusion_plot.row_normalised(_hist(), 3)
  np.testing.assert_allclose(normalised[0], [0.8, 0.2, 0.0])
  np.testing.assert_allclose(normalised[2], [0, 0, 0])  # empty row
  small = confusion_plot.save_confusion_png(
      str(tmp_path / 'small.png'), _hist(), ['sky', 'road', 'car'],
      ['sky', 'road', 'car'], title='three classes')
  rng = np.random.RandomState(0)
  hist = rng.randint(0, 5, (151, 151)) + np.diag(rng.randint(50, 500, 151))
  names = dataset_classes.class_names('ade20k', 151)
  rows, columns = result_tables.confusion_axes(names, 0)
  large = confusion_plot.save_confusion_png(str(tmp_path / 'large.png'),
                                            hist, rows, columns)
  small_size = Image.open(small).size
  large_size = Image.open(large).size
  assert min(large_size) > 1800 and max(small_size) < 900
  with pytest.raises(ValueError, match='3 columns but 2 column names'):
    confusion_plot.save_confusion_png(str(tmp_path / 'x.png'), _hist(),
                                      ['a', 'b'], ['a', 'b'])


def _program(folder, outcome):
  def main(argv):
    run_record.start('demo.py', folder, None, argv, arguments={'k': 1})
    if outcome == 'user error':
      raise ValueError('bad value for --k\nsecond line')
    if outcome == 'crash':
      raise RuntimeError('boom')
    return 3 if outcome == 'status 3' else None
  return main


@pytest.mark.parametrize('outcome,status,error', [
    ('ok', 0, None), ('status 3', 3, None),
    ('user error', 2, 'bad value for --k'), ('crash', 1, 'RuntimeError: boom')])
def test_run_json_is_completed_however_the_program_ends(tmp_path, outcome,
                                                        status, error):
  folder = str(tmp_path / 'out')
  main = _program(folder, outcome)
  if outcome == 'crash':
    with pytest.raises(RuntimeError):
      cli.run_program('demo.py', main, ['--k=1'])
  else:
    assert cli.run_program('demo.py', main, ['--k=1']) == status
  record = json.load(open(os.path.join(folder, 'run.json')))
  assert record['exit_status'] == status and record['error'] == error
  assert record['program'] == 'demo.py' and record['arguments'] == ['--k=1']
  assert record['settings'] == {'k': 1}
  assert record['start_time'] <= record['end_time']
  assert set(record['versions']) == {'python', 'tensorflow', 'numpy'}
  assert record['versions']['tensorflow']
  assert record['machine']['cpu_count'] >= 1
  assert isinstance(record['machine']['gpus'], list)


def test_run_json_records_the_commit_and_keeps_earlier_runs(tmp_path):
  folder = str(tmp_path / 'out')
  for argv in (['--first'], ['--second']):
    cli.run_program('demo.py', _program(folder, 'ok'), argv)
  assert json.load(open(os.path.join(folder, 'run.json')))['arguments'] == [
      '--second']
  history = [json.loads(l) for l in open(os.path.join(folder,
                                                      'run_history.jsonl'))]
  assert [h['arguments'] for h in history] == [['--first']]
  repo = tmp_path / 'repo'
  repo.mkdir()
  assert run_record.git_state(str(repo)) is None  # not a git checkout
  git = ['git', '-C', str(repo), '-c', 'user.email=a@b', '-c', 'user.name=a']
  subprocess.check_call(git + ['init', '-q'])
  (repo / 'f.txt').write_text('1')
  subprocess.check_call(git + ['add', 'f.txt'])
  subprocess.check_call(git + ['commit', '-qm', 'one'])
  state = run_record.git_state(str(repo))
  assert len(state['commit']) == 40 and state['dirty'] is False
  (repo / 'f.txt').write_text('2')
  assert run_record.git_state(str(repo))['dirty'] is True


def test_run_plot_reads_events_and_validation(tmp_path):
  import tensorflow.compat.v1 as tf
  root = tmp_path / 'run'
  train = root / 'train'
  train.mkdir(parents=True)
  # A resumed run repeats steps 4 and 5 in a file of its own.
  for start, stop, suffix in ((0, 6, '.first'), (4, 10, '.second')):
    writer = tf.summary.FileWriter(str(train), filename_suffix=suffix)
    for step in range(start, stop):
      summary = tf.Summary(value=[
          tf.Summary.Value(tag='total_loss', simple_value=10.0 - step),
          tf.Summary.Value(tag='learning_rate', simple_value=0.01)])
      writer.add_summary(summary, step)
    writer.close()
  scalars = run_plot.read_scalars(str(train))
  steps, losses = scalars['total_loss']
  assert steps.tolist() == list(range(10))
  np.testing.assert_allclose(losses, 10.0 - np.arange(10))
  hist = np.diag([5, 5])
  tables = result_tables.ValTables(str(root / 'val'), [(0, 'a'), (1, 'b')])
  tables.add(str(train / 'model.ckpt-3'), hist,
             metrics.metrics_from_hist(hist, 2))
  path, counts = run_plot.plot_run(str(root))
  assert path == str(root / 'run_plot.png')
  assert list(counts.values()) == [10, 10, 1]
  assert Image.open(path).size[0] > 500
  # The train folder names the run too.
  assert run_plot.run_folders(str(train))[1] == str(root / 'val')
  with pytest.raises(run_plot.RunFolderError, match='is not a run folder'):
    run_plot.plot_run(str(tmp_path))


def test_sample_plots_take_the_dataset_colours_and_names(tmp_path):
  from li_programs.report import plot_fn
  palette = dataset_classes.palette('synthetic_shapes', 5)
  prediction = np.zeros((30, 30), int)
  prediction[5:15, 5:15] = 2
  label = np.full((30, 30, 1), 2)
  label[0, 0] = 255
  path = plot_fn.save_plot(
      str(tmp_path / 'x_plot.png'), np.full((30, 30, 3), 90.0), prediction,
      label, 5, 255, title='x', palette=palette,
      class_names=dataset_classes.SYNTHETIC_SHAPES_CLASSES)
  pixels = np.asarray(Image.open(path).convert('RGB')).reshape(-1, 3)
  # The square's colour of the table is drawn (it is no 'hls' colour).
  assert (pixels == palette[2]).all(axis=1).any()


def test_pyplot_loads_in_the_background_on_agg(tmp_path):
  # test.py and validate.py start importing pyplot while the images run;
  # the figures at the end then find it loaded, on the Agg backend.
  script = (
      'import sys\n'
      'from li_programs.report import pyplot\n'
      'assert "matplotlib.pyplot" not in sys.modules\n'
      'thread = pyplot.import_in_background()\n'
      'plt = pyplot.pyplot()\n'
      'thread.join(60)\n'
      'assert not thread.is_alive()\n'
      'assert sys.modules["matplotlib.pyplot"] is plt\n'
      'print(plt.get_backend().lower())\n')
  env = dict(os.environ, MPLBACKEND='TkAgg')  # overridden: no display here
  out = subprocess.run([sys.executable, '-c', script], cwd=REPO_ROOT, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, check=False)
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == 'agg'
