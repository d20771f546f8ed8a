"""predict.py: labels, colour maps and overlays of your own images.

    python predict.py --config_file config/CelebAMask_HQ/liMnv2_liAspp.ini \\
        --checkpoint_path model.ckpt-1000 --images 'photos/*.jpg' \\
        --output_dir predictions

``main(argv)`` is the program (predict.py and console scripts call it
through ``run``).  Besides ``--images`` and ``--output_dir`` it takes every
option test.py takes (the config's ``[test]`` section: ``eval_scales``,
``add_flipped_images``, ``inference_engine``, ...), and the checkpoint as
test.py finds it when ``--checkpoint_path`` is not given.  What it writes:
li_programs/report/prediction_files.py; how it predicts:
li_programs/predictor.py.
"""
import os
import sys

from libs.core import quiet_tf  # filters TensorFlow's start-up noise
quiet_tf.import_tensorflow()

from li_programs.config import cli
from li_programs.config import config as config_lib
from li_programs.config import config_help
from li_programs.config import flag_parsing
from li_programs.evaluate import evaluation
from li_programs.runtime import inference_engine
from li_programs.config import original_notes
from li_programs.report import prediction_files
from li_programs import predictor as predictor_lib
from li_programs.runtime import run_record

PROGRAM = 'predict.py'
_OWN_FLAGS = ('images', 'output_dir')

_EXTRA_HELP = [
    ('--images FILE|FOLDER|GLOB (required)',
     'The images: one file, a folder (its jpg/jpeg/png/bmp/gif files) or a '
     'glob in quotes. Any size; grey and RGBA images are converted to RGB.'),
    ('--output_dir FOLDER (required)',
     'Gets <name>.png (class ids, the image\'s size), color/<name>.png (the '
     'dataset\'s colours), overlay/<name>.jpg and run.json.'),
]


def help_text():
  return config_help.format_help(
      'test', program=PROGRAM,
      usage='usage: %s --config_file FILE.ini --images FILE|FOLDER|GLOB '
            '--output_dir FOLDER [--checkpoint_path CKPT] [--option=value '
            '...]' % PROGRAM,
      summary='Labels images with a checkpoint (checkpoint_path, '
              'checkpoint_name or the best on val, as test.py chooses), '
              'preprocessed and predicted as test.py does ([test] options).',
      extra_flags=_EXTRA_HELP)


def take_flags(argv, names):
  """``flag_parsing.take_flags``, a flag without its value a UsageError."""
  try:
    return flag_parsing.take_flags(argv, names)
  except flag_parsing.FlagValueMissing as err:
    raise cli.UsageError('--%s needs a value' % err.name) from err


def parse_args(argv):
  """``(cfg, images, output_dir)``; UsageError / ConfigError on bad ones."""
  argv = list(argv)
  if any(arg in ('-h', '--help') for arg in argv):
    raise cli.HelpRequested(help_text())
  config_file, rest = cli.split_config_file(argv)
  own, rest = take_flags(rest, _OWN_FLAGS)
  if not config_file:
    raise cli.UsageError('--config_file is required (the config the '
                         'checkpoint was trained with; --help lists every '
                         'option)')
  for name in _OWN_FLAGS:
    if not own.get(name):
      raise cli.UsageError('--%s is required (--help says what it takes)'
                           % name)
  cfg = config_lib.load_config(cli.resolve_config_file(config_file), 'test',
                               rest)
  return cfg, own['images'], os.path.abspath(own['output_dir'])


def _note(message):
  sys.stderr.write('%s: %s\n' % (PROGRAM, message))
  sys.stderr.flush()


def main(argv):
  cfg, spec, output_dir = parse_args(argv)
  original_notes.print_notes(PROGRAM, cfg)
  images = prediction_files.find_images(spec)
  checkpoint = predictor_lib.resolve_checkpoint(cfg)
  if os.path.isfile(output_dir):
    raise IOError('--output_dir %s is a file; name a folder' % output_dir)
  run_record.start(PROGRAM, output_dir, cfg, argv, arguments={
      'images': spec, 'num_images': len(images), 'output_dir': output_dir,
      'checkpoint': checkpoint})
  failed = []
  decoder = prediction_files.ImageDecoder()
  with predictor_lib.Predictor(cfg, checkpoint, program=PROGRAM,
                               num_images=len(images)) as model:
    if model.engine_reason:
      _note('note: ' + model.engine_reason)
    if model.engine == inference_engine.TFLITE:
      _note('note: inference on TensorFlow Lite (converted once per padded '
            'image size); --inference_engine=session runs it in TensorFlow')
    bar = evaluation.progress_bar(len(images), 'predict')
    try:
      for item in images:
        try:
          image = decoder.decode(item.path)
        except IOError as err:
          sys.stderr.write('%s: error: %s; skipped\n' % (PROGRAM, err))
          failed.append(item.path)
          continue
        labels = model.predict(image)
        prediction_files.write_prediction(output_dir, item.name, image,
                                          labels, model.palette)
        bar.update(1)
    finally:
      bar.close()
      decoder.close()
    engines = ', '.join(model.engines_used) or model.engine
  print('%d image(s) labelled with %s (%s) -> %s: <name>.png class ids, '
        '%s/ colours, %s/ overlays' % (
            len(images) - len(failed), checkpoint, engines, output_dir,
            prediction_files.COLOR_DIR, prediction_files.OVERLAY_DIR))
  if failed:
    sys.stderr.write('%s: error: %d image(s) could not be read: %s\n'
                     % (PROGRAM, len(failed), ', '.join(failed)))
    return 1
  return 0


def run(argv=None):
  """The command line (``sys.argv[1:]`` when ``argv`` is None): ``main``
  with one-line errors; the exit status."""
  return cli.run_command_line(PROGRAM, main, argv)
