"""Trains an LI-Convs / DeepLabv3+ model.

    python train.py --config_file config/ADE20K/liMnv2_liAspp.ini \\
        [--key value ...]

The original's entry point; ``li-train`` is the same program. It lives in
li_programs/commands/train.py; ``--help`` lists every option.
"""
from li_programs.commands import launch

if __name__ == '__main__':
  launch.train()
