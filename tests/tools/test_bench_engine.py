"""The benchmark times test figures with test.py's default engine."""
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
