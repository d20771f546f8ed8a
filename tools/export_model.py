"""Exports a checkpoint as a SavedModel, a frozen graph and TensorFlow Lite.

    python tools/export_model.py \\
        --config_file config/ADE20K/liMnv2_liAspp.ini \\
        --checkpoint_path model.ckpt-1000 --output_dir exported \\
        [--formats saved_model,frozen,tflite] [--option=value ...]

Writes ``saved_model/`` (serving signature ``image`` uint8 [1, H, W, 3] ->
``labels`` int32 [1, H, W]), ``frozen_inference_graph.pb`` (DeepLab's
tensor names ``ImageTensor:0`` -> ``SemanticPredictions:0``),
``model.tflite`` (TensorFlow 2.x only), ``class_names.txt``,
``export.json`` and ``run.json``.  The labels are predict.py's; images may
be any size up to ``eval_crop_size`` (give a larger ``--eval_crop_size``
for larger images).  Other ``--option=value`` arguments are config options
of the ``[test]`` section (``eval_scales``, ``add_flipped_images``, ...);
without ``--checkpoint_path`` the checkpoint is the one test.py would test.
The graph: li_programs/evaluate/model_export.py.
"""
import os
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from li_programs.runtime import process
if __name__ == '__main__':  # the program's own process only (see there)
  process.prepare()
from libs.core import quiet_tf  # filters TF's start-up noise
quiet_tf.import_tensorflow()

from li_programs.config import cli
from li_programs.config import config as config_lib
from li_programs.config import config_help
from li_programs.config import dataset_info
from li_programs.runtime import inference_engine
from li_programs.evaluate import model_export
from li_programs.commands import predict as predict_program
from li_programs import predictor
from li_programs.runtime import run_record
from li_programs.runtime import session_config

PROGRAM = 'export_model.py'
_EXTRA_HELP = [
    ('--output_dir FOLDER (required)',
     'Where the exports go (created; earlier exports of the same formats '
     'there are replaced).'),
    ('--formats LIST (default: saved_model,frozen,tflite; under TensorFlow '
     '1.15 saved_model,frozen)',
     'Comma list of saved_model, frozen, tflite.'),
]


def help_text():
  return config_help.format_help(
      'test', program=PROGRAM,
      usage='usage: %s --config_file FILE.ini --output_dir FOLDER '
            '[--checkpoint_path CKPT] [--formats saved_model,frozen,tflite] '
            '[--option=value ...]' % PROGRAM,
      summary='Exports a checkpoint (checkpoint_path, checkpoint_name or the '
              'best on val) for deployment; the model is the one test.py '
              'builds ([test] options).',
      extra_flags=_EXTRA_HELP)


def tflite_unavailable_reason():
  """Why no .tflite can be exported here, or None."""
  from libs.core import tf_compat
  if tf_compat.tensorflow_major() < 2:
    # Its converter refuses an input of free height and width.
    return ('TensorFlow 1.15\'s converter takes no image of free size '
            '(%s:0 is [1, H, W, 3]) and the project runs TensorFlow Lite on '
            '2.x only' % model_export.INPUT_NAME)
  return inference_engine.tflite_unavailable_reason()


def default_formats():
  if tflite_unavailable_reason() is None:
    return list(model_export.FORMATS)
  return [model_export.SAVED_MODEL, model_export.FROZEN]


def check_formats(formats):
  """ExportError naming the format that cannot be written here."""
  reason = tflite_unavailable_reason()
  if model_export.TFLITE in formats and reason:
    raise model_export.ExportError(
        '--formats tflite cannot be exported here: %s; export saved_model '
        'or frozen, or run this with TensorFlow 2.x (.venv-tf2)' % reason)


def main(argv):
  argv = list(argv)
  if any(arg in ('-h', '--help') for arg in argv):
    raise cli.HelpRequested(help_text())
  config_file, rest = cli.split_config_file(argv)
  own, rest = predict_program.take_flags(rest, ('output_dir', 'formats'))
  if not config_file:
    raise cli.UsageError('--config_file is required (--help lists every '
                         'option)')
  if not own.get('output_dir'):
    raise cli.UsageError('--output_dir is required')
  formats = (model_export.parse_formats(own['formats'])
             if own.get('formats') else default_formats())
  check_formats(formats)
  cfg = config_lib.load_config(cli.resolve_config_file(config_file), 'test',
                               rest)
  descriptor = dataset_info.descriptor_of(cfg)
  names = dataset_info.class_names_of(cfg, descriptor)
  checkpoint = predictor.resolve_checkpoint(cfg)
  output_dir = os.path.abspath(own['output_dir'])
  run_record.start(PROGRAM, output_dir, cfg, argv, arguments={
      'checkpoint': checkpoint, 'formats': formats, 'output_dir': output_dir})
  written = model_export.export(
      cfg, checkpoint, output_dir, formats, descriptor.num_classes, names,
      session_config.session_config_from(cfg))
  for name in formats:
    print('%s: %s' % (name, written[name]))
  print('images up to %dx%d (HxW); %s:0 uint8 [1,H,W,3] -> %s:0 int32 '
        '[1,H,W]' % (cfg.eval_crop_size[0], cfg.eval_crop_size[1],
                     model_export.INPUT_NAME, model_export.OUTPUT_NAME))
  return 0


if __name__ == '__main__':
  from libs.core import tf_compat
  tf_compat.use_graph_mode()
  sys.exit(cli.run_program(PROGRAM, main, sys.argv[1:]))
