"""Draws loss, learning rate and val mIoU per checkpoint of a run (one PNG).

    python tools/plot_run.py RUN_FOLDER [--output run_plot.png]

RUN_FOLDER is ``<snapshot_root>/<config_name>`` (or its ``train/``): the
training summaries come from the event files in ``train/``, the mIoU of
each checkpoint from ``val/metrics.json`` (or ``val_result.mat``).  The
picture goes to ``RUN_FOLDER/run_plot.png`` unless ``--output`` says
otherwise.  The work: li_programs/report/run_plot.py.
"""
import argparse
import os
import sys

if __package__ in (None, ''):  # run as a file: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from li_programs.config import cli
from li_programs.report import run_plot


def main(argv):
  parser = argparse.ArgumentParser(
      prog='plot_run.py', description=__doc__.split('\n')[0])
  parser.add_argument('run_folder',
                      help='<snapshot_root>/<config_name> of a run')
  parser.add_argument('--output', default=None,
                      help='PNG to write (default RUN_FOLDER/run_plot.png)')
  args = parser.parse_args(argv)
  path, counts = run_plot.plot_run(args.run_folder, args.output)
  print('%s (%s)' % (path, ', '.join('%s: %d points' % (k, v)
                                      for k, v in counts.items())))
  return 0


if __name__ == '__main__':
  sys.exit(cli.run_program('plot_run.py', main, sys.argv[1:]))
