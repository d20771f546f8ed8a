"""A benchmark worker: times one figure in this process, writes a JSON result.

    python -m benchmarks.worker --figure NAME --dataset_dir DIR --out R.json

runs under whichever Python (and so TensorFlow build) the driver
(``benchmarks.benchmark``) chose.  The result holds the timings, the peak
resident memory of this process (and of the largest child it waited for:
the TF Lite conversion), the TensorFlow build and outputs the driver
compares across builds.
"""
import argparse
import functools
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# As the programs do, before TensorFlow (li_programs/runtime/process.py).
from li_programs.runtime import process
process.prepare()
from benchmarks import figures as figs
from benchmarks import timing
from benchmarks import workloads
from libs.core import op_graphs
from libs.core import tf_compat
from li_programs.runtime import inference_engine


def parse_args(argv):
  parser = argparse.ArgumentParser(
      prog='benchmarks.worker',
      description='Time one benchmark figure in this process (worker).')
  parser.add_argument('--figure', required=True,
                      choices=sorted(figs.FIGURES))
  parser.add_argument('--dataset_dir', required=True)
  parser.add_argument('--out', required=True, help='result JSON path')
  parser.add_argument('--checkpoint', default=None,
                      help='shared weights: restored if present, else saved')
  parser.add_argument('--warmup', type=int, default=1)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--crop', type=int, default=None)
  parser.add_argument('--batch', type=int, default=None)
  parser.add_argument('--trace', action='store_true',
                      help='also profile the ops (RunMetadata step stats)')
  parser.add_argument('--intra_op_threads', type=int, default=None,
                      help="the programs' option: TensorFlow's threads in "
                      "one op, and the TF Lite interpreter's")
  parser.add_argument('--inter_op_threads', type=int, default=None)
  parser.add_argument('--op_graph', default=op_graphs.FAST,
                      choices=op_graphs.OP_GRAPHS)
  parser.add_argument('--inference_engine', default=inference_engine.AUTO,
                      choices=inference_engine.ENGINES,
                      help="test figures' engine, as test.py's option")
  parser.add_argument('--flag', action='append', default=[],
                      help='a config option as a flag, e.g. --flag '
                      '--winograd=true (repeatable)')
  parser.add_argument('--paired_with', default=None,
                      choices=sorted(figs.FIGURES),
                      help='time this figure too, interleaved (run_pair)')
  parser.add_argument('--paired_checkpoint', default=None,
                      help="--paired_with's shared weights")
  parser.add_argument('--serve', action='store_true',
                      help='time one run per "run" line on stdin, answering '
                      'on stdout (time_on_command); --repeats is unused')
  args = parser.parse_args(argv)
  if args.serve and args.paired_with:
    parser.error('--serve times one figure; it cannot take --paired_with')
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  threads = {'intra_op_threads': args.intra_op_threads,
             'inter_op_threads': args.inter_op_threads}
  if args.paired_with:
    result = workloads.run_pair(
        args.figure, args.paired_with, args.dataset_dir, args.warmup,
        args.repeats, args.checkpoint, args.paired_checkpoint, args.crop,
        args.batch, threads, args.op_graph, args.inference_engine,
        args.flag)
  else:
    timer = None
    if args.serve:
      # The replies get stdout's descriptor to themselves; whatever else
      # writes to stdout (TensorFlow's C++ logs too) now goes to stderr.
      replies = os.fdopen(os.dup(1), 'w')
      os.dup2(2, 1)
      timer = functools.partial(timing.time_on_command, warmup=args.warmup,
                                commands=sys.stdin, replies=replies)
    result = workloads.run_figure(
        args.figure, args.dataset_dir, args.warmup, args.repeats,
        args.checkpoint, args.crop, args.batch, threads, args.trace,
        args.op_graph, args.inference_engine, timer, args.flag)
  with open(args.out, 'w') as f:
    json.dump(result, f)
  return 0


if __name__ == '__main__':
  tf_compat.use_graph_mode()
  sys.exit(main())
