"""tools/benchmark.py at a tiny size: JSON fields, positivity, consistency."""
import json
import os

import numpy as np
import pytest

from tools import benchmark
from tools import benchmark_backends

pytestmark = pytest.mark.slow

TINY = ['--train_crops=33', '--models=li_mnv2_li_aspp,mnv2_aspp',
        '--eval_configs=config/ADE20K/liMnv2_liAspp.ini', '--eval_crop=33',
        '--repeats=1', '--warmup=1', '--batch=2', '--matmul_size=128',
        '--num_images=3', '--image_size=40', '--no_eval_baselines']


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('bench')
  output = str(root / 'results.json')
  status = benchmark.main(TINY + ['--bench_dir=%s' % root,
                                  '--output=%s' % output])
  assert status == 0
  with open(output) as f:
    return json.load(f)


def test_results_record_machine_build_and_settings(tiny_run):
  r = tiny_run
  for key in ('machine', 'tensorflow', 'settings', 'loadavg_before',
              'loadavg_after', 'matmul', 'peak_gflops', 'flops_note', 'train',
              'eval', 'li_overhead', 'wall_s'):
    assert key in r, key
  assert r['machine']['usable_cpus'] >= 1
  assert len(r['loadavg_before']) == 3
  import tensorflow.compat.v1 as tf
  assert r['tensorflow']['version'] == tf.__version__  # the running build
  assert isinstance(r['tensorflow']['mkl_enabled'], bool)
  s = r['settings']
  assert s['batch'] == 2 and s['train_crops'] == [33]
  assert s['intra_op_threads'] >= 1 and s['inter_op_threads'] >= 1
  assert 'ESTIMATE' in r['flops_note']


def test_matmul_peak_is_consistent(tiny_run):
  m = tiny_run['matmul']
  assert m['size'] == 128 and m['median_s'] > 0
  assert m['gflops'] == pytest.approx(2 * 128 ** 3 / m['min_s'] / 1e9)
  assert m['gflops_median'] <= m['gflops']
  assert tiny_run['peak_gflops'] == m['gflops']


def test_training_entries_are_positive_and_consistent(tiny_run):
  entries = {e['model']: e for e in tiny_run['train']}
  assert sorted(entries) == ['li_mnv2_li_aspp', 'mnv2_aspp']
  for e in entries.values():
    assert e['crop'] == [33, 33] and e['batch'] == 2
    assert e['num_classes'] == 151  # the config's dataset, not the pixels'
    for feed in ('records', 'memory'):
      t = e[feed]
      assert 0 < t['min_s'] <= t['median_s'] <= t['max_s']
      assert len(t['times_s']) == 1
    assert e['step_s_records'] == e['records']['median_s']
    assert e['step_s_memory'] == e['memory']['median_s']
    assert e['pipeline_headroom'] == pytest.approx(
        e['step_s_memory'] / e['step_s_records'])
    assert e['pipeline_only']['median_s'] > 0
    assert e['forward_flops_per_image'] > 0 and e['trainable_params'] > 0
    assert e['train_flops_per_step_estimate'] == pytest.approx(
        3 * e['forward_flops_per_image'] * 2)
    assert e['achieved_gflops'] == pytest.approx(
        e['train_flops_per_step_estimate'] / e['step_s_memory'] / 1e9)
    assert e['efficiency'] == pytest.approx(
        e['achieved_gflops'] / tiny_run['peak_gflops'])
  li, base = entries['li_mnv2_li_aspp'], entries['mnv2_aspp']
  # LI layers add parameters (one per channel) and float operations.
  assert li['trainable_params'] > base['trainable_params']
  assert li['forward_flops_per_image'] > base['forward_flops_per_image']


def test_li_overhead_is_the_ratio_of_the_measurements(tiny_run):
  rows = [r for r in tiny_run['li_overhead'] if r['kind'] == 'train']
  train = {e['model']: e for e in tiny_run['train']}
  assert len(rows) == 1
  row = rows[0]
  assert row['li_model'] == 'li_mnv2_li_aspp' and row['baseline'] == 'mnv2_aspp'
  assert row['time_ratio'] == pytest.approx(
      train['li_mnv2_li_aspp']['step_s_memory'] /
      train['mnv2_aspp']['step_s_memory'])
  assert row['time_ratio_records'] == pytest.approx(
      train['li_mnv2_li_aspp']['step_s_records'] /
      train['mnv2_aspp']['step_s_records'])
  assert row['flop_ratio'] == pytest.approx(
      train['li_mnv2_li_aspp']['forward_flops_per_image'] /
      train['mnv2_aspp']['forward_flops_per_image'])
  assert 1.0 < row['flop_ratio'] < 1.2


def test_eval_overhead_pairs_each_li_config_with_its_baseline():
  def entry(config, flags, seconds, flops):
    return {'config': config, 'extra_flags': flags, 'crop': [257, 257],
            'seconds_per_image': seconds, 'eval_flops': flops}
  li_config, _, baseline = benchmark.MODELS['li_mnv2_li_aspp']
  base_config, base_flags, _ = benchmark.MODELS[baseline]
  entries = [entry(li_config, [], 0.3, 110.0),
             entry(base_config, base_flags, 0.2, 100.0),
             entry('config/PASCAL_VOC2012/liMnv2_liAspp.ini', [], 9.0, 1.0)]
  rows = benchmark.li_overhead([], entries)
  assert rows == [{'kind': 'eval', 'li_model': 'li_mnv2_li_aspp',
                   'baseline': 'mnv2_aspp', 'crop': [257, 257],
                   'time_ratio': pytest.approx(1.5),
                   'flop_ratio': pytest.approx(1.1)}]


def test_table_lists_every_measurement(tiny_run):
  table = benchmark.format_table(tiny_run)
  assert 'Dense matmul 128' in table
  assert table.count('li_mnv2_li_aspp') >= 2
  assert 'LI overhead' in table and 'headroom' in table


@pytest.mark.parametrize('argv, message', [
    (['--models=li_mnv2'], "unknown model 'li_mnv2'"),
    (['--eval_configs=config/nope.ini'], 'config/nope.ini not found'),
    (['--num_images=2'], '--num_images must be at least'),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys, tmp_path):
  status = benchmark.main(argv + ['--output=%s' % (tmp_path / 'r.json'),
                                  '--bench_dir=%s' % tmp_path])
  err = capsys.readouterr().err.strip().splitlines()
  assert status == 2
  assert err[-1].startswith('benchmark: error: ') and message in err[-1]
  assert not (tmp_path / 'r.json').exists()


def test_bad_crop_is_rejected_by_argparse(capsys):
  with pytest.raises(SystemExit) as exit_info:
    benchmark.main(['--train_crops=8'])
  assert exit_info.value.code == 2
  assert 'crops >= 17' in capsys.readouterr().err


def test_time_calls_counts_warmup_and_repeats():
  calls = []
  times = benchmark.time_calls(lambda: calls.append(1), 2, 3)
  assert len(calls) == 5 and len(times) == 3 and min(times) >= 0
  with pytest.raises(benchmark.BenchmarkError):
    benchmark.time_calls(lambda: None, 0, 0)


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


def test_full_and_quick_settings_cover_the_issue():
  full = benchmark.settings_from_args(benchmark.parse_args([]))
  assert full['train_crops'] == [257, 129] and full['batch'] == 4
  assert full['eval_baselines'] and len(full['shipped']) == 4
  assert len(full['models']) == 4
  quick = benchmark.settings_from_args(benchmark.parse_args(['--quick']))
  assert quick['quick'] and quick['train_crops'] == [129]
  assert quick['batch'] == 4 and quick['eval_baselines']
  custom = benchmark.settings_from_args(benchmark.parse_args(
      ['--train_crops=65,33', '--repeats=2', '--warmup=0']))
  assert custom['train_crops'] == [65, 33]
  assert custom['train_repeats'] == custom['eval_repeats'] == 2
  assert custom['train_warmup'] == custom['eval_warmup'] == 0
