"""How cost grows: ``make bench SCALING=1``.

Times each figure of ``make bench`` at three sizes, both builds side by side
(one round): ``test.py`` per image at crops 257, 513 and 1025, ``train.py``
per step at batch 2, 4 and 8 (crop 129).  Each row gives the time per unit
of work -- per megapixel of the crop, per training image -- and how much it
grew from the smallest size: costs should grow with the pixels and the
batch, not faster.  Memory as in ``make bench``: peaks, and the ratio of
the default's to the reference's above each build's floor.
"""
from benchmarks import figures as figs
from benchmarks import report
from benchmarks import side_by_side
from benchmarks import timing

BEGIN = '<!-- scaling:begin -->'
END = '<!-- scaling:end -->'
TEST_CROPS = (257, 513, 1025)
TRAIN_BATCHES = (2, 4, 8)
SETTINGS = dict(figures=['test_li_mnv2', 'test_li_r50', 'train_li_mnv2',
                         'train_li_r50'],
                rounds=1, repeats=5, warmup=1, test_crop=None,
                train_crop=None, batch=None, test_crops=list(TEST_CROPS),
                train_batches=list(TRAIN_BATCHES))


def sizes_of(figure, settings):
  """The crops (test figures) or batches (train figures) to time."""
  if figs.FIGURES[figure][0] == 'train':
    return list(settings['train_batches'])
  return list(settings['test_crops'])


def measure(settings, backends, dataset_dir, work_dir):
  """``{(figure, size, backend name): worker result}``, every size of every
  figure timed with both builds side by side."""
  runs = {}
  for figure in settings['figures']:
    train = figs.FIGURES[figure][0] == 'train'
    side_by_side.prepare_weights(
        dict(settings, figures=[figure]), backends[-1], dataset_dir,
        work_dir, crop=None if train else min(sizes_of(figure, settings)),
        batch=min(sizes_of(figure, settings)) if train else None,
        baselines=False)
    for size in sizes_of(figure, settings):
      timing.log('scaling: %s at %s %d, %s side by side' % (
          figure, 'batch' if train else 'crop', size,
          ' and '.join(name for name, _, _ in backends)))
      specs = [dict(python=python, figure=figure, settings=settings,
                    dataset_dir=dataset_dir, work_dir=work_dir,
                    tag='%s_%d' % (name, size), op_graph=op_graph,
                    crop=None if train else size,
                    batch=size if train else None)
               for name, python, op_graph in backends]
      results = side_by_side.run_side_by_side(specs, settings['repeats'])
      for (name, _, _), result in zip(backends, results):
        runs[(figure, size, name)] = result
  return runs


def units(result):
  """The work of one timed run: megapixels of the crop (test), images of
  the batch (train)."""
  if result['mode'] == 'train':
    return float(result['batch'])
  return result['crop'][0] * result['crop'][1] / 1e6


def summarize(runs, settings, backends, floors):
  """One row per figure and size: times, speedup, cost per unit and its
  growth from the smallest size, memory and its ratio above the floors."""
  ref_name, default_name = backends[0][0], backends[-1][0]
  rows = []
  for figure in settings['figures']:
    first = {}
    for size in sizes_of(figure, settings):
      row = {'figure': figure, 'title': report.TITLES.get(figure, figure),
             'size': size}
      for side, name in (('reference', ref_name), ('default', default_name)):
        result = runs[(figure, size, name)]
        seconds = result['timing']['median_s']
        per_unit = seconds / units(result)
        first.setdefault(side, per_unit)
        row.update({'mode': result['mode'], 'crop': result['crop'],
                    'batch': result['batch'],
                    side + '_s': seconds, side + '_per_unit_s': per_unit,
                    side + '_growth': per_unit / first[side],
                    side + '_peak_mib': result['peak_rss_mib']})
        if side == 'default':
          row['default_engine'] = result.get('inference_engine')
      row['speedup'] = row['reference_s'] / row['default_s']
      row['memory_ratio'] = report.memory_ratio(
          row['reference_peak_mib'], floors[ref_name],
          row['default_peak_mib'], floors[default_name])
      rows.append(row)
  return rows


def format_markdown(results):
  """The docs' scaling table of a results dict."""
  ref, new = results['backends'][0], results['backends'][-1]
  lines = [
      '| figure | size | %s | %s (default) | speedup | per unit, reference '
      '/ default (growth from the smallest size) | peak memory, reference / '
      'default (above the floors, ratio) |'
      % (ref['tensorflow'], new['tensorflow']),
      '|---|---|---|---|---|---|---|']
  for row in results['rows']:
    if row['mode'] == 'train':
      size = '%dx%d, batch %d' % (tuple(row['crop']) + (row['batch'],))
      unit = 'image'
    else:
      size = '%dx%d' % tuple(row['crop'])
      unit = 'Mpx'
    engine = ' (TF Lite)' if row.get('default_engine') == 'tflite' else ''
    lines.append(
        '| %s | %s | %.3f s | %.3f s%s | %.2fx | %.3f / %.3f s per %s '
        '(%.2fx / %.2fx) | %s |' % (
            row['title'], size, row['reference_s'], row['default_s'], engine,
            row['speedup'], row['reference_per_unit_s'],
            row['default_per_unit_s'], unit, row['reference_growth'],
            row['default_growth'],
            '%.0f / %.0f MiB (%.0f / %.0f, %.2fx)' % (
                row['reference_peak_mib'], row['default_peak_mib'],
                row['reference_peak_mib'] - results['reference_floor_mib'],
                row['default_peak_mib'] - results['default_floor_mib'],
                row['memory_ratio'])))
  lines.append('')
  lines += report.notes(results)
  return '\n'.join(lines)
