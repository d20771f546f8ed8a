"""The benchmark times test figures with test.py's default engine."""
import pytest

from libs.core import tf_compat
from tools import bench_workloads as wl

TF2 = tf_compat.tensorflow_major() >= 2


def test_test_figure_runs_with_the_default_engine(tmp_path):
  records = wl.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                  image_size=65)
  checkpoint = str(tmp_path / 'weights.ckpt')
  # The default engine first: under 2.x it creates the shared weights
  # through the figure's session graph, then converts them.
  default = wl.run_figure('test_li_mnv2', records, warmup=0, repeats=1,
                          checkpoint=checkpoint, crop=65)
  session = wl.run_figure('test_li_mnv2', records, warmup=0, repeats=1,
                          checkpoint=checkpoint, crop=65, engine='session')
  assert (default['weights'], session['weights']) == ('created', 'restored')
  assert default['inference_engine'] == ('tflite' if TF2 else 'session')
  assert session['inference_engine'] == 'session'
  histogram = session['outputs']['first_prediction_histogram']
  assert sum(histogram) == 65 * 65
  assert default['outputs']['first_prediction_histogram'] == histogram


def test_thread_options_reach_the_session_and_the_interpreter(tmp_path):
  records = wl.make_bench_records(str(tmp_path / 'data'), num_images=2,
                                  image_size=65)
  figure = wl._OpenFigure('test_li_mnv2', records,
                          str(tmp_path / 'weights.ckpt'), crop=65,
                          threads={'intra_op_threads': 1,
                                   'inter_op_threads': None})
  try:
    assert figure.cfg.intra_op_threads == 1
    assert figure.cfg.inter_op_threads is None
    assert figure.sess._config.intra_op_parallelism_threads == 1
    if TF2:  # test.py's default engine there: TF Lite, one thread as asked
      assert figure.predictor._num_threads == 1
    else:
      assert figure.predictor is None
  finally:
    figure.close()


@pytest.mark.skipif(not TF2, reason='TensorFlow Lite runs on 2.x only')
def test_tflite_model_computes_wide_3x3_layers_by_winograd(tmp_path):
  # At crop 129, LI-ResNet-50's block 2 has three 17x17, 128 -> 128 3x3
  # layers: Winograd there (libs/core/winograd.py), the same labels.
  records = wl.make_bench_records(str(tmp_path / 'data'), num_images=1,
                                  image_size=129)
  checkpoint = str(tmp_path / 'weights.ckpt')
  histograms = {}
  for engine in ('tflite', 'session'):
    figure = wl._OpenFigure('test_li_r50', records, checkpoint, crop=129,
                            engine=engine)
    try:
      histograms[engine] = figure.outputs['first_prediction_histogram']
      if engine == 'tflite':
        ops = [op.type for op in figure.predictor._graph.get_operations()]
        assert ops.count('BatchMatMulV2') == 3
    finally:
      figure.close()
  assert sum(histograms['session']) == 129 * 129
  assert histograms['tflite'] == histograms['session']
