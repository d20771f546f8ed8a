"""tools/benchmark.py, tools/bench_workloads.py, tools/benchmark_backends.py.

One tiny side-by-side run (this interpreter as both builds, crop 33, one
round) checks the worker protocol, the ratios, the LI overhead and the
README table; the rest checks the arithmetic and the errors directly.
"""
import json
import sys
import time

import numpy as np
import pytest

from tools import bench_workloads as wl
from tools import benchmark
from tools import benchmark_backends

TINY = ['--figures=train_li_mnv2', '--rounds=1', '--repeats=1', '--warmup=0',
        '--train_crop=33', '--batch=2', '--num_images=2', '--image_size=40']


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('bench')
  output = str(root / 'results.json')
  readme = root / 'README.md'
  readme.write_text('intro\n%s\nold table\n%s\nrest\n'
                    % (benchmark.README_BEGIN, benchmark.README_END))
  status = benchmark.main(TINY + [
      '--bench_dir=%s' % root, '--output=%s' % output,
      '--reference_python=%s' % sys.executable, '--readme=%s' % readme])
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
  assert benchmark.format_markdown(results) in readme


def test_update_readme_needs_the_markers(tmp_path):
  path = tmp_path / 'README.md'
  path.write_text('no markers\n')
  with pytest.raises(wl.BenchmarkError, match='no <!-- bench:begin -->'):
    benchmark.update_readme(str(path), 'table')


def test_builds_run_side_by_side_and_flip_who_starts(monkeypatch):
  calls = []
  monkeypatch.setattr(benchmark, 'run_side_by_side',
                      lambda specs, repeats: [calls.append(
                          (s['figure'], s['python'], s['op_graph'],
                           s['trace'])) or {'python': s['python']}
                          for s in specs])
  monkeypatch.setattr(benchmark, 'run_worker',
                      lambda python, figure, *a, **k: calls.append(
                          (figure, python, k['op_graph'],
                           k['paired_with'])) or {})
  settings = dict(benchmark.FULL, figures=['test_li_mnv2'], rounds=2)
  runs = benchmark.measure(settings, [('reference', 'ref', 'original'),
                                      ('default', 'new', 'fast')], 'data',
                           'work')
  # Round 1: reference first; round 2: default first, and its last-round
  # worker traces the ops.  The LI pair runs under the default build.
  assert calls == [('test_li_mnv2', 'ref', 'original', False),
                   ('test_li_mnv2', 'new', 'fast', False),
                   ('test_li_mnv2', 'new', 'fast', 'test_mnv2'),
                   ('test_li_mnv2', 'new', 'fast', True),
                   ('test_li_mnv2', 'ref', 'original', False),
                   ('test_li_mnv2', 'new', 'fast', 'test_mnv2')]
  assert [r['python'] for r in runs[('test_li_mnv2', 'reference')]] == \
      ['ref', 'ref']
  assert [r['python'] for r in runs[('test_li_mnv2', 'default')]] == \
      ['new', 'new']
  assert len(runs[('test_li_mnv2', benchmark.LI_PAIR)]) == 2


class _FakeWorker(object):
  """Stands in for benchmark.Worker: logs the driver's calls."""
  log = []
  fail_on = None

  def __init__(self, serve, python, **unused):
    assert serve
    self.name = python

  def _call(self, what):
    self.log.append('%s %s' % (what, self.name))
    if self.fail_on == (what, self.name):
      raise wl.BenchmarkError('worker %s failed' % self.name)

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
  monkeypatch.setattr(benchmark, 'Worker', _FakeWorker)
  monkeypatch.setattr(_FakeWorker, 'log', [])
  results = benchmark.run_side_by_side([{'python': 'a'}, {'python': 'b'}],
                                       repeats=3)
  assert results == [{'python': 'a'}, {'python': 'b'}]
  # b starts only once a is ready; the turns flip their order every repeat.
  assert _FakeWorker.log == ['ready a', 'ready b', 'run a', 'run b', 'run b',
                             'run a', 'run a', 'run b', 'finish a',
                             'finish b', 'kill a', 'kill b']


def test_side_by_side_kills_every_worker_when_one_fails(monkeypatch):
  monkeypatch.setattr(benchmark, 'Worker', _FakeWorker)
  monkeypatch.setattr(_FakeWorker, 'log', [])
  monkeypatch.setattr(_FakeWorker, 'fail_on', ('run', 'b'))
  with pytest.raises(wl.BenchmarkError, match='worker b failed'):
    benchmark.run_side_by_side([{'python': 'a'}, {'python': 'b'}], 2)
  assert _FakeWorker.log == ['ready a', 'ready b', 'run a', 'run b',
                             'kill a', 'kill b']


def test_a_failing_worker_is_a_one_line_error(tmp_path):
  settings = dict(benchmark.FULL, warmup=0, repeats=1)
  worker = benchmark.Worker(sys.executable, 'train_li_mnv2', settings,
                            str(tmp_path / 'no_records'), str(tmp_path),
                            'reference_0', serve=True)
  with pytest.raises(wl.BenchmarkError) as err:
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
  worker = benchmark.Worker(str(python), 'train_li_mnv2', settings, 'data',
                            str(tmp_path), 'reference_0', serve=True)
  start = time.time()
  with pytest.raises(wl.BenchmarkError, match="failed: it answered 'hello', "
                     "not 'ready'$"):
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
  assert wl.FIGURES['test_li_mnv2'][3:] == (513, 1)
  assert wl.FIGURES['train_li_r50'][3:] == (129, 4)
  for figure, baseline in wl.LI_BASELINES.items():
    assert wl.FIGURES[figure][:2] == wl.FIGURES[baseline][:2]
    assert wl.FIGURES[baseline][2]  # the baseline flags switch LI off
  quick = benchmark.settings_from_args(benchmark.parse_args(['--quick']))
  assert quick['figures'] == ['test_li_mnv2', 'train_li_mnv2']
  with pytest.raises(wl.BenchmarkError, match="unknown figure 'nope'"):
    wl.figure_config('nope', 'data')


def test_time_calls_counts_warmup_and_repeats():
  calls = []
  times = wl.time_calls(lambda: calls.append(1), 2, 3)
  assert len(calls) == 5 and len(times) == 3 and min(times) >= 0
  with pytest.raises(wl.BenchmarkError):
    wl.time_calls(lambda: None, 0, 0)


def test_time_on_command_times_one_run_per_command():
  import io
  calls, replies = [], io.StringIO()
  times = wl.time_on_command(lambda: calls.append(1), 2,
                             io.StringIO('run\nrun\nrun\n'), replies)
  assert len(calls) == 5 and len(times) == 3 and min(times) >= 0
  assert replies.getvalue() == 'ready\n' + 'done\n' * 3
  # Any other line ends the timing; none at all is an error.
  calls[:] = []
  assert len(wl.time_on_command(lambda: calls.append(1), 0,
                                io.StringIO('run\nstop\nrun\n'),
                                io.StringIO())) == 1
  assert len(calls) == 1
  with pytest.raises(wl.BenchmarkError, match='no timed run'):
    wl.time_on_command(lambda: None, 0, io.StringIO(''), io.StringIO())


def _worker(seconds):
  return {'mode': 'train', 'crop': [33, 33], 'batch': 2, 'peak_rss_mib': 1.0,
          'timing': {'median_s': seconds}}


def test_speedup_and_li_overhead_are_medians_over_rounds():
  # Round by round the default build is 2x, 1.5x and 2.5x faster; the
  # medians of the sides alone (2.0 / 0.8 s) would say 2.5x.
  runs = {('train_li_mnv2', 'reference'): [_worker(s) for s in (1, 3, 2)],
          ('train_li_mnv2', 'default'): [_worker(s) for s in (.5, 2, .8)],
          ('train_li_mnv2', benchmark.LI_PAIR): [
              {'baseline': 'train_mnv2', 'baseline_timing': {'median_s': s},
               'overhead': o} for s, o in ((.4, .05), (1.9, -.01), (.7, .02))]}
  settings = dict(benchmark.FULL, figures=['train_li_mnv2'])
  (row,) = benchmark.summarize_runs(
      runs, settings, [('reference', 'ref', 'original'),
                       ('default', 'new', 'fast')], 'data', count_flops=False)
  assert row['round_speedups'] == [2.0, 1.5, 2.5]
  assert row['speedup'] == 2.0
  assert (row['reference_s'], row['default_s']) == (2, .8)
  assert row['li_time_overhead'] == .02 and row['baseline_s'] == .7


def test_interleaved_timing_alternates_and_flips_the_order():
  calls = []
  times = wl.time_interleaved([lambda: calls.append('a'),
                               lambda: calls.append('b')], 1, 3)
  assert calls == ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']
  assert [len(t) for t in times] == [3, 3]


def test_backend_comparison_metric(tmp_path):
  ref = np.array([[1.0, -2.0], [4.0, 0.5]])
  assert benchmark_backends.relative_difference(ref, ref) == 0.0
  other = ref + np.array([[0.0, 0.0], [4e-4, 0.0]])
  assert benchmark_backends.relative_difference(ref, other) == \
      pytest.approx(1e-4)
  with pytest.raises(ValueError, match='shapes differ'):
    benchmark_backends.relative_difference(ref, ref[0])
  np.savez(str(tmp_path / 'a.npz'), logits=ref, labels=np.array([1, 2]))
  np.savez(str(tmp_path / 'b.npz'), logits=ref * (1 + 5e-5),
           labels=np.array([1, 3]))
  result = benchmark_backends.compare_outputs(
      'eval', str(tmp_path / 'a.npz'), str(tmp_path / 'b.npz'))
  assert result['within_tolerance'] and result['label_agreement'] == 0.5
  np.savez(str(tmp_path / 'c.npz'), losses=np.array([2.0, 1.0]))
  np.savez(str(tmp_path / 'd.npz'), losses=np.array([2.0, 1.001]))
  result = benchmark_backends.compare_outputs(
      'train', str(tmp_path / 'c.npz'), str(tmp_path / 'd.npz'))
  assert not result['within_tolerance']
  assert result['relative_difference'] == pytest.approx(1e-3)


def test_backend_cases_name_known_models():
  with pytest.raises(wl.BenchmarkError, match="unknown model 'li_x'"):
    benchmark_backends._parse_cases('eval:li_x:129:1')
  assert benchmark_backends._parse_cases('train:li_mnv2_li_aspp:65:2') == (
      ('train', 'li_mnv2_li_aspp', 65, 2),)


def test_a_figure_that_fails_to_load_closes_its_session(tmp_path,
                                                        monkeypatch):
  opened = []

  class RecordingSession(wl.tf.Session):

    def __init__(self, *args, **kwargs):
      super(RecordingSession, self).__init__(*args, **kwargs)
      opened.append(self)

  def unreadable(*unused):
    raise ValueError('unreadable checkpoint')

  records = wl.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                  image_size=40)
  monkeypatch.setattr(wl.tf, 'Session', RecordingSession)
  monkeypatch.setattr(wl, '_restore_or_create', unreadable)
  with pytest.raises(ValueError, match='unreadable checkpoint'):
    wl._OpenFigure('train_li_mnv2', records, crop=33, batch=1)
  assert len(opened) == 1 and opened[0]._closed
