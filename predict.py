"""Labels your own images with a trained checkpoint.

    python predict.py --config_file config/CelebAMask_HQ/liMnv2_liAspp.ini \
        --checkpoint_path model.ckpt-1000 --images 'photos/*.jpg' \
        --output_dir predictions

Per image: ``<name>.png`` (class ids at the image's size),
``color/<name>.png`` (the dataset's colours), ``overlay/<name>.jpg``, and
``run.json`` for the run.  The labels are test.py's for the same image
(same preprocessing, ``eval_scales``, flips and ``inference_engine``); any
image size works.  ``--help`` lists every option.  The program lives in
li_programs/commands/predict.py, the Python API in li_programs/predictor.py.
"""
from li_programs.commands import launch

if __name__ == '__main__':
  launch.predict()
