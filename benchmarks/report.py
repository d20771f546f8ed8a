"""The benchmark's results: per-figure rows, the Markdown table, the docs.

``summarize_runs`` turns the workers' results into one row per figure: the
time of each build (the median over rounds), the speedup (the median of the
rounds' ratios), the peak memory and the memory above each build's floor,
and the LI overhead.  ``format_markdown`` writes the table that
``update_doc`` puts between a page's bench markers.
"""
import statistics

from benchmarks import figures as figs
from benchmarks import timing
from benchmarks.side_by_side import LI_PAIR
from libs.core import op_graphs
from li_programs.runtime import inference_engine

BEGIN = '<!-- bench:begin -->'
END = '<!-- bench:end -->'
TITLES = {'test_li_mnv2': '`test.py` LI-MNV2 + LI-ASPP, per image',
          'train_li_mnv2': '`train.py` LI-MNV2 + LI-ASPP, per step',
          'test_li_r50': '`test.py` LI-R50 + LI-ASPP + decoder, per image',
          'train_li_r50': '`train.py` LI-R50 + LI-ASPP + decoder, per step'}
# Short names of the figures' models, for notes under the tables.
MODELS = {'test_li_mnv2': 'LI-MNV2', 'train_li_mnv2': 'LI-MNV2',
          'test_li_r50': 'LI-R50', 'train_li_r50': 'LI-R50'}


def _figure_seconds(results):
  return statistics.median(r['timing']['median_s'] for r in results)


def flop_ratio(figure, settings, dataset_dir):
  """FLOPs of the LI figure's eval graph / its baseline's, at the crop."""
  # Imported here: model statistics build graphs, the driver rarely needs
  # them (tests pass count_flops=False).
  from li_models import model_config
  from li_models import model_stats
  from libs.datasets import data_generator
  flops = []
  for name in (figure, figs.LI_BASELINES[figure]):
    cfg = figs.figure_config(name, dataset_dir)
    mode = figs.FIGURES[name][0]
    crop = ((settings['train_crop'] if mode == 'train' else
             settings['test_crop']) or figs.FIGURES[name][3])
    num_classes = data_generator.get_descriptor(cfg.dataset).num_classes
    options = model_config.model_options_from_config(cfg, num_classes,
                                                     [crop, crop])
    flops.append(model_stats.count_flops_and_params(options,
                                                    [crop, crop])[0])
  return flops[0] / float(flops[1])


def memory_ratio(reference_peak, reference_floor, default_peak,
                 default_floor):
  """The default build's memory above its floor over the reference's."""
  above = reference_peak - reference_floor
  if above <= 0:
    raise timing.BenchmarkError(
        'the reference peak (%.0f MiB) is not above its floor (%.0f MiB)'
        % (reference_peak, reference_floor))
  return (default_peak - default_floor) / above


def summarize_runs(runs, settings, backends, dataset_dir, count_flops=True,
                   floors=None):
  """Per figure: seconds and peak memory per backend, ratio, LI overhead.

  ``floors``: ``{backend name: floor MiB}``; with it each row holds the
  memory ratio above the floors.
  """
  ref_name, default_name = backends[0][0], backends[-1][0]
  rows = []
  for figure in settings['figures']:
    ref = runs[(figure, ref_name)]
    new = runs[(figure, default_name)]
    row = {'figure': figure, 'title': TITLES.get(figure, figure),
           'mode': new[0]['mode'], 'crop': new[0]['crop'],
           'batch': new[0]['batch'],
           'reference_s': _figure_seconds(ref),
           'default_s': _figure_seconds(new),
           'reference_peak_mib': max(r['peak_rss_mib'] for r in ref),
           'default_peak_mib': max(r['peak_rss_mib'] for r in new),
           'reference_runs_s': [r['timing']['median_s'] for r in ref],
           'default_runs_s': [r['timing']['median_s'] for r in new],
           'default_engine': new[0].get('inference_engine')}
    conversion = [r.get('conversion_peak_mib') for r in new]
    if any(conversion):
      row['default_conversion_peak_mib'] = max(c for c in conversion if c)
    if floors:
      row['memory_ratio'] = memory_ratio(
          row['reference_peak_mib'], floors[ref_name],
          row['default_peak_mib'], floors[default_name])
    # Each round timed the builds side by side: the median of the rounds'
    # ratios leaves out the drift of a shared machine between rounds.
    row['round_speedups'] = [r / d for r, d in zip(row['reference_runs_s'],
                                                   row['default_runs_s'])]
    row['speedup'] = statistics.median(row['round_speedups'])
    pairs = runs.get((figure, LI_PAIR))
    if pairs:
      row['baseline'] = pairs[0]['baseline']
      row['baseline_s'] = statistics.median(
          p['baseline_timing']['median_s'] for p in pairs)
      row['li_pair_overheads'] = [p['overhead'] for p in pairs]
      row['li_time_overhead'] = statistics.median(row['li_pair_overheads'])
      profile = new[-1].get('profile')
      if profile:
        row['li_op_share'] = profile['li_op_share']
        row['default_op_profile'] = profile
      if count_flops:
        row['li_flop_overhead'] = flop_ratio(figure, settings,
                                             dataset_dir) - 1.0
    rows.append(row)
  return rows


def _crop_text(row):
  crop = '%dx%d' % tuple(row['crop'])
  if row['mode'] == 'train':
    crop += ', batch %d' % row['batch']
  return crop


def _memory_text(row, results):
  text = '%.0f / %.0f MiB' % (row['reference_peak_mib'],
                              row['default_peak_mib'])
  if 'memory_ratio' in row:
    text += ' (%.0f / %.0f, %.2fx)' % (
        row['reference_peak_mib'] - results['reference_floor_mib'],
        row['default_peak_mib'] - results['default_floor_mib'],
        row['memory_ratio'])
  return text


def format_markdown(results):
  """The docs' table of a results dict."""
  ref, new = results['backends'][0], results['backends'][-1]
  lines = [
      '| figure | crop | %s, %s op graph | %s, %s op graph (default) | '
      'speedup | peak memory, reference / default (above the floors, '
      'ratio) | LI: time overhead / share of op time / FLOP overhead |'
      % (ref['tensorflow'], ref.get('op_graph', op_graphs.ORIGINAL),
         new['tensorflow'], new.get('op_graph', op_graphs.FAST)),
      '|---|---|---|---|---|---|---|']
  for row in results['rows']:
    overhead = '–'
    if 'li_time_overhead' in row:
      overhead = '%+.1f%% / %s / %s' % (
          100 * row['li_time_overhead'],
          '%.1f%%' % (100 * row['li_op_share']) if 'li_op_share' in row
          else '–',
          '%+.1f%%' % (100 * row['li_flop_overhead'])
          if 'li_flop_overhead' in row else '–')
    engine = (' (TF Lite)' if row.get('default_engine') ==
              inference_engine.TFLITE else '')
    lines.append('| %s | %s | %.3f s | %.3f s%s | %.2fx | %s | %s |' % (
        row['title'], _crop_text(row), row['reference_s'], row['default_s'],
        engine, row['speedup'], _memory_text(row, results), overhead))
  lines.append('')
  lines += notes(results)
  return '\n'.join(lines)


def notes(results):
  """The lines under a table: floors, conversions, machine, load."""
  lines = []
  if 'reference_floor_mib' in results:
    lines.append('Floors (importing TensorFlow as the programs do and '
                 'opening a session): %.0f MiB (reference), %.0f MiB '
                 '(default).' % (results['reference_floor_mib'],
                                 results['default_floor_mib']))
  converted = ['%s %.0f MiB' % (MODELS.get(r['figure'], r['figure']),
                                r['default_conversion_peak_mib'])
               for r in results['rows'] if 'default_conversion_peak_mib' in r]
  if converted:
    lines.append('The TF Lite conversion runs in a process of its own that '
                 'ends before the first image; its peak: %s.'
                 % ', '.join(converted))
  m = results['machine']
  lines.append('Measured by `make bench%s` on %s (%s usable CPUs), %d '
               'round%s, load average %s before and %s after; %.0f s.'
               % (results.get('make_flags', ''), m.get('cpu'),
                  m.get('usable_cpus'), results['rounds'],
                  '' if results['rounds'] == 1 else 's',
                  results['loadavg_before'], results['loadavg_after'],
                  results['wall_s']))
  return lines


def update_doc(path, table, begin=BEGIN, end=END):
  """Replaces the text between the markers ``begin`` and ``end`` of the
  page ``path`` by ``table``."""
  with open(path) as f:
    text = f.read()
  start, stop = text.find(begin), text.find(end)
  if start < 0 or stop < start:
    raise timing.BenchmarkError('%s has no %s ... %s block to update'
                                % (path, begin, end))
  text = text[:start + len(begin)] + '\n' + table + '\n' + text[stop:]
  with open(path, 'w') as f:
    f.write(text)
