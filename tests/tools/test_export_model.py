"""tools/export_model.py's command line (the exports themselves are checked
against predict.py in tests/programs/test_predict_celeba.py)."""
import pytest

from libs.core import tf_compat
from li_programs.config import cli
from li_programs.evaluate import model_export
from tools import export_model

pytestmark = pytest.mark.tf2


def _run(argv, capsys):
  status = cli.run_program('export_model.py', export_model.main, argv)
  return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.skipif(tf_compat.tensorflow_major() >= 2,
                    reason='TensorFlow 1.15 only')
def test_tflite_on_tensorflow_1_is_a_one_line_error(config, tmp_path, capsys):
  status, err = _run(['--config_file', config, '--output_dir',
                      str(tmp_path / 'out'), '--formats',
                      'saved_model,tflite'], capsys)
  assert status == 2 and len(err) == 1
  assert err[0].startswith('export_model.py: error: --formats tflite cannot '
                           "be exported here: TensorFlow 1.15's converter "
                           'takes no image of free size')
  assert err[0].endswith('export saved_model or frozen, or run this with '
                         'TensorFlow 2.x (.venv-tf2)')
  assert not (tmp_path / 'out').exists()
  assert export_model.default_formats() == ['saved_model', 'frozen']


@pytest.mark.skipif(tf_compat.tensorflow_major() < 2,
                    reason='TensorFlow 2.x only')
def test_every_format_is_the_default_on_tensorflow_2():
  assert export_model.default_formats() == list(model_export.FORMATS)


@pytest.mark.parametrize('argv,message', [
    (['--output_dir', 'x', '--formats', 'onnx'],
     "--formats takes a comma list of saved_model, frozen, tflite, got "
     "'onnx'"),
    ([], '--output_dir is required'),
    (['--output_dir', 'x', '--checkpoint_path', 'nowhere/model.ckpt-1'],
     'nowhere/model.ckpt-1 not found (no '),
])
def test_bad_command_lines(config, tmp_path, capsys, monkeypatch, argv,
                           message):
  monkeypatch.chdir(str(tmp_path))
  status, err = _run(['--config_file', config] + argv, capsys)
  assert status == 2 and message in err[-1]


def test_help_lists_the_formats(capsys):
  status = cli.run_program('export_model.py', export_model.main, ['--help'])
  out = capsys.readouterr().out
  assert status == 0 and out.startswith('usage: export_model.py')
  assert '--formats' in out and '--eval_crop_size' in out
