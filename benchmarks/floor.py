"""The floor of a TensorFlow build: its memory before any model.

    python -m benchmarks.floor

imports TensorFlow as the programs do (``li_programs.runtime.process``
first), opens a session, runs one constant and prints
``{"peak_rss_mib": ...}``: the peak resident memory every program of this
build pays whatever it runs.  The benchmark compares the builds' memory
above their floors.
"""
import json
import os
import sys

if __package__ in (None, ''):  # run as a script: make the repo importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))

from li_programs.runtime import process
process.prepare()


def main():
  import tensorflow.compat.v1 as tf
  from benchmarks import timing
  from libs.core import tf_compat
  tf_compat.use_graph_mode()
  with tf.Session() as sess:
    sess.run(tf.constant(1))
  print(json.dumps({'peak_rss_mib': round(timing.peak_rss_mib(), 1)}))
  return 0


if __name__ == '__main__':
  sys.exit(main())
