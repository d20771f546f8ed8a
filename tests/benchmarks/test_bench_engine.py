"""The benchmark times test figures with test.py's default engine."""
import pytest

from benchmarks import figures as figs
from benchmarks import workloads as wl
from libs.core import tf_compat

pytestmark = pytest.mark.tf2

TF2 = tf_compat.tensorflow_major() >= 2


def test_test_figures_run_with_each_engine(tmp_path):
  records = figs.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                    image_size=65)
  checkpoint = str(tmp_path / 'weights.ckpt')
  runs = {}
  if TF2:
    # TF Lite first: it creates the shared weights through the figure's
    # session graph, then converts them in a child process.
    runs['tflite'] = wl.run_figure('test_li_mnv2', records, warmup=0,
                                   repeats=1, checkpoint=checkpoint, crop=65,
                                   engine='tflite')
  runs['session'] = wl.run_figure('test_li_mnv2', records, warmup=0,
                                  repeats=1, checkpoint=checkpoint, crop=65,
                                  engine='session')
  # test.py's default engine: two small images never repay a conversion.
  runs['auto'] = wl.run_figure('test_li_mnv2', records, warmup=0, repeats=1,
                               checkpoint=checkpoint, crop=65)
  assert runs['session']['weights'] == ('restored' if TF2 else 'created')
  assert runs['auto']['inference_engine'] == 'session'
  histogram = runs['session']['outputs']['first_prediction_histogram']
  assert sum(histogram) == 65 * 65
  for engine, result in runs.items():
    assert result['outputs']['first_prediction_histogram'] == histogram
    if engine == 'tflite':
      assert result['weights'] == 'created'
      assert result['inference_engine'] == 'tflite'
      # The conversion ran in a process of its own, with TensorFlow in it.
      assert result['conversion_peak_mib'] > 200


def test_thread_options_reach_the_session_and_the_interpreter(tmp_path):
  records = figs.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                    image_size=65)
  figure = wl._OpenFigure('test_li_mnv2', records,
                          str(tmp_path / 'weights.ckpt'), crop=65,
                          threads={'intra_op_threads': 1,
                                   'inter_op_threads': None},
                          engine='tflite' if TF2 else 'session')
  try:
    assert figure.cfg.intra_op_threads == 1
    assert figure.cfg.inter_op_threads is None
    assert figure.sess._config.intra_op_parallelism_threads == 1
    if TF2:  # TF Lite: one interpreter thread, as asked
      assert figure.predictor._num_threads == 1
    else:
      assert figure.predictor is None
  finally:
    figure.close()


@pytest.mark.skipif(not TF2, reason='TensorFlow Lite runs on 2.x only')
def test_tflite_model_computes_wide_3x3_layers_by_winograd(tmp_path):
  # At crop 129, LI-ResNet-50's block 2 has three 17x17, 128 -> 128 3x3
  # layers: with winograd = true, Winograd there (libs/core/winograd.py),
  # the same labels.
  records = figs.make_bench_records(str(tmp_path / 'data'), num_images=1,
                                    image_size=129)
  checkpoint = str(tmp_path / 'weights.ckpt')
  histograms, matmuls = {}, {}
  for engine, winograd in (('session', 'false'), ('tflite', 'true'),
                           ('tflite', 'false')):
    figure = wl._OpenFigure('test_li_r50', records, checkpoint, crop=129,
                            engine=engine,
                            flags=['--winograd=%s' % winograd])
    try:
      key = (engine, winograd)
      histograms[key] = figure.outputs['first_prediction_histogram']
      if engine == 'tflite':
        ops = figure.predictor._interpreter._get_ops_details()
        matmuls[key] = sum(op['op_name'] == 'BATCH_MATMUL' for op in ops)
    finally:
      figure.close()
  assert matmuls == {('tflite', 'true'): 3, ('tflite', 'false'): 0}
  session = histograms.pop(('session', 'false'))
  assert sum(session) == 129 * 129
  assert all(h == session for h in histograms.values())
