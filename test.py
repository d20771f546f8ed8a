"""Tests one checkpoint on ``test_split``.

    python test.py --config_file config/ADE20K/liMnv2_liAspp.ini \\
        [--key value ...]

The original's entry point; ``li-test`` is the same program. It lives in
li_programs/commands/test.py; ``--help`` lists every option.
"""
from li_programs.commands import launch

if __name__ == '__main__':
  launch.test()
