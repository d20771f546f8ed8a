"""The benchmark driver and its workers (benchmarks/).

One tiny side-by-side run (this interpreter as both builds, crop 33, one
round) checks the worker protocol, the ratios, the floors, the LI overhead
and the table in the docs; the rest checks the arithmetic and the errors
directly.
"""
import json
import sys
import time

import pytest

from benchmarks import benchmark
from benchmarks import figures as figs
from benchmarks import report
from benchmarks import side_by_side
from benchmarks import timing
from benchmarks import workloads

TINY = ['--figures=train_li_mnv2', '--rounds=1', '--repeats=1', '--warmup=0',
        '--train_crop=33', '--batch=2', '--num_images=2', '--image_size=40',
        '--floor_runs=1']


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('bench')
  output = str(root / 'results.json')
  readme = root / 'README.md'
  readme.write_text('intro\n%s\nold table\n%s\nrest\n'
                    % (report.BEGIN, report.END))
  status = benchmark.main(TINY + [
      '--bench_dir=%s' % root, '--output=%s' % output,
      '--reference_python=%s' % sys.executable, '--doc=%s' % readme])
  assert status == 0
  with open(output) as f:
    return json.load(f), readme.read_text()


def test_rows_hold_both_builds_ratio_memory_and_li_overhead(tiny_run):
  results, _ = tiny_run
  assert [b['name'] for b in results['backends']] == ['reference', 'default']
  # The reference builds the original's op graph, the default the fast one.
  assert [b['op_graph'] for b in results['backends']] == ['original', 'fast']
  assert results['rounds'] == 1 and len(results['loadavg_before']) == 3
  (row,) = results['rows']
  assert row['figure'] == 'train_li_mnv2' and row['mode'] == 'train'
  assert row['crop'] == [33, 33] and row['batch'] == 2
  assert len(row['reference_runs_s']) == len(row['default_runs_s']) == 1
  assert row['reference_s'] == row['reference_runs_s'][0] > 0
  assert row['speedup'] == pytest.approx(row['reference_s'] /
                                         row['default_s'])
  assert row['reference_peak_mib'] > 100 and row['default_peak_mib'] > 100
  # Both floors (this interpreter both times) and the ratio above them.
  floors = results['reference_floor_mib'], results['default_floor_mib']
  assert 50 < min(floors) and max(floors) < row['default_peak_mib']
  assert row['memory_ratio'] == pytest.approx(
      (row['default_peak_mib'] - floors[1]) /
      (row['reference_peak_mib'] - floors[0]))
  # The LI overhead comes from the worker that ran both models in turn.
  assert row['baseline'] == 'train_mnv2' and row['baseline_s'] > 0
  (overhead,) = row['li_pair_overheads']
  assert row['li_time_overhead'] == overhead > -0.5
  # LI adds a little compute: one depthwise 3x3 per LI layer.
  assert 0 < row['li_flop_overhead'] < 0.2
  # The default build's last round was traced: LI ops are a small, nonzero
  # share of the op time, and the costliest op types are listed.
  profile = row['default_op_profile']
  assert 0 < row['li_op_share'] == profile['li_op_share'] < 0.5
  assert 0 < profile['li_op_time_ms'] < profile['op_time_ms']
  # The layers' products lead (1x1 layers are MatMuls while training).
  assert {'Conv2D', 'MatMul'} & set(profile['by_type'])


def test_readme_block_is_replaced_by_the_table(tiny_run):
  results, readme = tiny_run
  assert readme.startswith('intro\n') and readme.endswith('rest\n')
  assert 'old table' not in readme
  assert '| `train.py` LI-MNV2 + LI-ASPP, per step | 33x33, batch 2 |' in \
      readme
  assert report.format_markdown(results) in readme
  # Each speedup with its memory ratio, and the floors under the table.
  (row,) = results['rows']
  assert '| %.2fx | %.0f / %.0f MiB (%.0f / %.0f, %.2fx) |' % (
      row['speedup'], row['reference_peak_mib'], row['default_peak_mib'],
      row['reference_peak_mib'] - results['reference_floor_mib'],
      row['default_peak_mib'] - results['default_floor_mib'],
      row['memory_ratio']) in readme
  assert ('Floors (importing TensorFlow as the programs do and opening a '
          'session): %.0f MiB (reference), %.0f MiB (default).'
          % (results['reference_floor_mib'], results['default_floor_mib'])
          in readme)


def test_update_readme_needs_the_markers(tmp_path):
  path = tmp_path / 'README.md'
  path.write_text('no markers\n')
  with pytest.raises(timing.BenchmarkError,
                     match='no <!-- bench:begin -->'):
    report.update_doc(str(path), 'table')


def test_builds_run_side_by_side_and_flip_who_starts(monkeypatch):
  calls = []
  monkeypatch.setattr(side_by_side, 'run_side_by_side',
                      lambda specs, repeats: [calls.append(
                          (s['figure'], s['python'], s['op_graph'],
                           s['trace'])) or {'python': s['python']}
                          for s in specs])
  monkeypatch.setattr(side_by_side, 'run_worker',
                      lambda python, figure, *a, **k: calls.append(
                          (figure, python, k['op_graph'],
                           k.get('paired_with', k.get('engine')))) or {})
  settings = dict(benchmark.FULL, figures=['test_li_mnv2'], rounds=2)
  runs = side_by_side.measure(settings, [('reference', 'ref', 'original'),
                                         ('default', 'new', 'fast')], 'data',
                              'work')
  # First the shared weights, by the default build in TensorFlow; round 1:
  # reference first; round 2: default first, and its last-round worker
  # traces the ops.  The LI pair runs under the default build.
  assert calls == [('test_li_mnv2', 'new', 'fast', 'session'),
                   ('test_mnv2', 'new', 'fast', 'session'),
                   ('test_li_mnv2', 'ref', 'original', False),
                   ('test_li_mnv2', 'new', 'fast', False),
                   ('test_li_mnv2', 'new', 'fast', 'test_mnv2'),
                   ('test_li_mnv2', 'new', 'fast', True),
                   ('test_li_mnv2', 'ref', 'original', False),
                   ('test_li_mnv2', 'new', 'fast', 'test_mnv2')]
  assert [r['python'] for r in runs[('test_li_mnv2', 'reference')]] == \
      ['ref', 'ref']
  assert [r['python'] for r in runs[('test_li_mnv2', 'default')]] == \
      ['new', 'new']
  assert len(runs[('test_li_mnv2', side_by_side.LI_PAIR)]) == 2


class _FakeWorker(object):
  """Stands in for side_by_side.Worker: logs the driver's calls."""
  log = []
  fail_on = None

  def __init__(self, serve, python, **unused):
    assert serve
    self.name = python

  def _call(self, what):
    self.log.append('%s %s' % (what, self.name))
    if self.fail_on == (what, self.name):
      raise timing.BenchmarkError('worker %s failed' % self.name)

  def wait_ready(self):
    self._call('ready')

  def run_one(self):
    self._call('run')

  def finish(self):
    self._call('finish')
    return {'python': self.name}

  def kill(self):
    self.log.append('kill %s' % self.name)


def test_side_by_side_workers_take_turns(monkeypatch):
  monkeypatch.setattr(side_by_side, 'Worker', _FakeWorker)
  monkeypatch.setattr(_FakeWorker, 'log', [])
  results = side_by_side.run_side_by_side([{'python': 'a'}, {'python': 'b'}],
                                       repeats=3)
  assert results == [{'python': 'a'}, {'python': 'b'}]
  # b starts only once a is ready; the turns flip their order every repeat.
  assert _FakeWorker.log == ['ready a', 'ready b', 'run a', 'run b', 'run b',
                             'run a', 'run a', 'run b', 'finish a',
                             'finish b', 'kill a', 'kill b']


def test_side_by_side_kills_every_worker_when_one_fails(monkeypatch):
  monkeypatch.setattr(side_by_side, 'Worker', _FakeWorker)
  monkeypatch.setattr(_FakeWorker, 'log', [])
  monkeypatch.setattr(_FakeWorker, 'fail_on', ('run', 'b'))
  with pytest.raises(timing.BenchmarkError, match='worker b failed'):
    side_by_side.run_side_by_side([{'python': 'a'}, {'python': 'b'}], 2)
  assert _FakeWorker.log == ['ready a', 'ready b', 'run a', 'run b',
                             'kill a', 'kill b']


def test_a_failing_worker_is_a_one_line_error(tmp_path):
  settings = dict(benchmark.FULL, warmup=0, repeats=1)
  worker = side_by_side.Worker(sys.executable, 'train_li_mnv2', settings,
                            str(tmp_path / 'no_records'), str(tmp_path),
                            'reference_0', serve=True)
  with pytest.raises(timing.BenchmarkError) as err:
    worker.wait_ready()
  message = str(err.value)
  assert message.startswith('worker train_li_mnv2 under %s failed: '
                            % sys.executable)
  assert '\n' not in message and len(message) > len('worker  failed: ') + 20


def test_a_worker_that_answers_nonsense_is_killed_not_awaited(tmp_path):
  # A stand-in interpreter that ignores its arguments, prints a stray line
  # and would then sit for a minute.
  python = tmp_path / 'python'
  python.write_text('#!/bin/sh\necho hello\nexec sleep 60\n')
  python.chmod(0o755)
  settings = dict(benchmark.FULL, warmup=0, repeats=1)
  worker = side_by_side.Worker(str(python), 'train_li_mnv2', settings, 'data',
                            str(tmp_path), 'reference_0', serve=True)
  start = time.time()
  with pytest.raises(timing.BenchmarkError,
                     match="failed: it answered 'hello', not 'ready'$"):
    worker.wait_ready()
  assert time.time() - start < 30
  assert worker._proc.poll() is not None


@pytest.mark.parametrize('argv, message', [
    (['--figures=train_li'], "unknown figure 'train_li'"),
    (['--rounds=0'], '--rounds and --repeats must be >= 1'),
    (['--reference_python=/nonexistent/python'],
     'no reference interpreter at /nonexistent/python'),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys, tmp_path):
  status = benchmark.main(argv + ['--output=%s' % (tmp_path / 'r.json'),
                                  '--bench_dir=%s' % tmp_path])
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1].startswith('benchmark: error: ') and message in err[-1]
  assert not (tmp_path / 'r.json').exists()


def test_figures_are_the_issue_figures():
  full = benchmark.settings_from_args(benchmark.parse_args([]))
  assert full['figures'] == list(benchmark.LI_FIGURES)
  assert full['rounds'] >= 3
  assert figs.FIGURES['test_li_mnv2'][3:] == (513, 1)
  assert figs.FIGURES['train_li_r50'][3:] == (129, 4)
  for figure, baseline in figs.LI_BASELINES.items():
    assert figs.FIGURES[figure][:2] == figs.FIGURES[baseline][:2]
    assert figs.FIGURES[baseline][2]  # the baseline flags switch LI off
  quick = benchmark.settings_from_args(benchmark.parse_args(['--quick']))
  assert quick['figures'] == ['test_li_mnv2', 'train_li_mnv2']
  with pytest.raises(timing.BenchmarkError, match="unknown figure 'nope'"):
    figs.figure_config('nope', 'data')


def test_time_calls_counts_warmup_and_repeats():
  calls = []
  times = timing.time_calls(lambda: calls.append(1), 2, 3)
  assert len(calls) == 5 and len(times) == 3 and min(times) >= 0
  with pytest.raises(timing.BenchmarkError):
    timing.time_calls(lambda: None, 0, 0)


def test_time_on_command_times_one_run_per_command():
  import io
  calls, replies = [], io.StringIO()
  times = timing.time_on_command(lambda: calls.append(1), 2,
                             io.StringIO('run\nrun\nrun\n'), replies)
  assert len(calls) == 5 and len(times) == 3 and min(times) >= 0
  assert replies.getvalue() == 'ready\n' + 'done\n' * 3
  # Any other line ends the timing; none at all is an error.
  calls[:] = []
  assert len(timing.time_on_command(lambda: calls.append(1), 0,
                                io.StringIO('run\nstop\nrun\n'),
                                io.StringIO())) == 1
  assert len(calls) == 1
  with pytest.raises(timing.BenchmarkError, match='no timed run'):
    timing.time_on_command(lambda: None, 0, io.StringIO(''), io.StringIO())


def _worker(seconds):
  return {'mode': 'train', 'crop': [33, 33], 'batch': 2, 'peak_rss_mib': 1.0,
          'timing': {'median_s': seconds}}


def test_speedup_and_li_overhead_are_medians_over_rounds():
  # Round by round the default build is 2x, 1.5x and 2.5x faster; the
  # medians of the sides alone (2.0 / 0.8 s) would say 2.5x.
  runs = {('train_li_mnv2', 'reference'): [_worker(s) for s in (1, 3, 2)],
          ('train_li_mnv2', 'default'): [_worker(s) for s in (.5, 2, .8)],
          ('train_li_mnv2', side_by_side.LI_PAIR): [
              {'baseline': 'train_mnv2', 'baseline_timing': {'median_s': s},
               'overhead': o} for s, o in ((.4, .05), (1.9, -.01), (.7, .02))]}
  settings = dict(benchmark.FULL, figures=['train_li_mnv2'])
  (row,) = report.summarize_runs(
      runs, settings, [('reference', 'ref', 'original'),
                       ('default', 'new', 'fast')], 'data', count_flops=False)
  assert row['round_speedups'] == [2.0, 1.5, 2.5]
  assert row['speedup'] == 2.0
  assert (row['reference_s'], row['default_s']) == (2, .8)
  assert row['li_time_overhead'] == .02 and row['baseline_s'] == .7


def test_interleaved_timing_alternates_and_flips_the_order():
  calls = []
  times = timing.time_interleaved([lambda: calls.append('a'),
                               lambda: calls.append('b')], 1, 3)
  assert calls == ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']
  assert [len(t) for t in times] == [3, 3]


def test_a_figure_that_fails_to_load_closes_its_session(tmp_path,
                                                        monkeypatch):
  opened = []

  class RecordingSession(workloads.tf.Session):

    def __init__(self, *args, **kwargs):
      super(RecordingSession, self).__init__(*args, **kwargs)
      opened.append(self)

  def unreadable(*unused):
    raise ValueError('unreadable checkpoint')

  records = figs.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                  image_size=40)
  monkeypatch.setattr(workloads.tf, 'Session', RecordingSession)
  monkeypatch.setattr(workloads, '_restore_or_create', unreadable)
  with pytest.raises(ValueError, match='unreadable checkpoint'):
    workloads._OpenFigure('train_li_mnv2', records, crop=33, batch=1)
  assert len(opened) == 1 and opened[0]._closed


def test_memory_ratio_counts_above_the_floors():
  # Reference 600 MiB over a 240 MiB floor, default 1000 over 550.
  assert report.memory_ratio(600, 240, 1000, 550) == pytest.approx(450 / 360.)
  with pytest.raises(timing.BenchmarkError, match='not above its floor'):
    report.memory_ratio(200, 240, 1000, 550)


@pytest.mark.slow
def test_scaling_times_every_size_of_every_figure(tmp_path):
  doc = tmp_path / 'performance.md'
  doc.write_text('a\n%s\nold\n%s\nb\n' % (benchmark.scaling.BEGIN,
                                         benchmark.scaling.END))
  status = benchmark.main([
      '--scaling', '--figures=test_li_mnv2,train_li_mnv2',
      '--test_crops=41,57', '--train_batches=1,2', '--train_crop=33',
      '--repeats=1', '--warmup=0', '--num_images=2', '--image_size=40',
      '--floor_runs=1', '--bench_dir=%s' % tmp_path,
      '--reference_python=%s' % sys.executable, '--doc=%s' % doc])
  assert status == 0
  with open(str(tmp_path / 'scaling.json')) as f:
    results = json.load(f)
  rows = results['rows']
  assert [(r['figure'], r['size']) for r in rows] == [
      ('test_li_mnv2', 41), ('test_li_mnv2', 57), ('train_li_mnv2', 1),
      ('train_li_mnv2', 2)]
  assert [r['crop'] for r in rows] == [[41, 41], [57, 57], [33, 33],
                                       [33, 33]]
  assert [r['batch'] for r in rows] == [1, 1, 1, 2]
  for row in rows:
    for side in ('reference', 'default'):
      units = (row['batch'] if row['mode'] == 'train' else
               row['crop'][0] * row['crop'][1] / 1e6)
      assert row[side + '_per_unit_s'] == pytest.approx(
          row[side + '_s'] / units)
    assert row['memory_ratio'] > 0
  # Growth is per unit against the figure's smallest size.
  assert rows[0]['default_growth'] == rows[2]['reference_growth'] == 1.0
  assert rows[3]['default_growth'] == pytest.approx(
      rows[3]['default_per_unit_s'] / rows[2]['default_per_unit_s'])
  text = doc.read_text()
  assert 'old' not in text and text.startswith('a\n')
  assert benchmark.scaling.format_markdown(results) in text
  assert '| `train.py` LI-MNV2 + LI-ASPP, per step | 33x33, batch 2 |' in text


def test_scaling_sizes_must_be_positive_integers(capsys, tmp_path):
  status = benchmark.main(['--scaling', '--train_batches=2,x',
                           '--bench_dir=%s' % tmp_path])
  assert status == 2
  assert capsys.readouterr().err.strip() == (
      "benchmark: error: --train_batches takes positive integers separated "
      "by commas, got '2,x'")
  settings = benchmark.settings_from_args(benchmark.parse_args(['--scaling']))
  assert settings['test_crops'] == [257, 513, 1025]
  assert settings['train_batches'] == [2, 4, 8]


@pytest.mark.slow
def test_whole_runs_time_test_py_from_start_to_end(tmp_path, capsys):
  from benchmarks import whole_runs
  doc = tmp_path / 'performance.md'
  doc.write_text('%s\nold\n%s\n' % (whole_runs.BEGIN, whole_runs.END))
  status = whole_runs.main([
      '--figure=test_li_mnv2', '--images=2', '--pairs=1', '--crop=65',
      '--image_size=60', '--reference_python=%s' % sys.executable,
      '--bench_dir=%s' % tmp_path, '--doc=%s' % doc])
  assert status == 0
  assert 'old' not in doc.read_text()
  assert '| `test.py` test_li_mnv2, 2 images, 65x65 |' in doc.read_text()
  with open(str(tmp_path / 'whole_runs.json')) as f:
    (row,) = json.load(f)['rows']
  assert (row['images'], row['crop'], row['pairs']) == (2, 65, 1)
  # A whole run takes seconds: TensorFlow starts, the graph is built.
  for side in ('reference', 'default'):
    assert row[side + '_wall_s'] > 1 and row[side + '_cpu_s'] > 1
  assert row['speedup'] == pytest.approx(row['reference_wall_s'] /
                                         row['default_wall_s'])
  assert '| `test.py` test_li_mnv2, 2 images, 65x65 |' in \
      capsys.readouterr().out
  with pytest.raises(SystemExit):
    whole_runs.parse_args(['--images=0'])


def test_a_worker_failure_names_the_exception():
  stderr = ('Traceback (most recent call last):\n  File "x.py", line 1\n'
            'libs.datasets.record_checks.RecordError: image 1 is too large\n'
            '\t [[IteratorGetNext]]\n')
  assert side_by_side.failure_line(stderr) == (
      'libs.datasets.record_checks.RecordError: image 1 is too large')
  assert side_by_side.failure_line('just a line\n') == 'just a line'
  assert side_by_side.failure_line('') == '(no output)'
