"""Validates every checkpoint of a training run.

    python validate.py --config_file config/ADE20K/liMnv2_liAspp.ini \\
        [--key value ...]

The original's entry point; ``li-validate`` is the same program. It lives in
li_programs/commands/validate.py; ``--help`` lists every option.
"""
from li_programs.commands import launch

if __name__ == '__main__':
  launch.validate()
