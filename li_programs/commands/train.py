"""Trains an LI-Convs / DeepLabv3+ model.

    python train.py --config_file config/ADE20K/liMnv2_liAspp.ini [--key value]

Checkpoints and event files go to ``<snapshot_root>/<config_name>/train``,
with ``run.json`` (config, command line, commit, versions, exit status).
A run resumes from the newest checkpoint there; Ctrl-C or SIGTERM saves a
checkpoint at the current step before exiting; a NaN/inf loss stops the
run with a message naming the step.

Distributed training (TensorFlow's own runtime): give the cluster as
TF_CONFIG or as ``--ps_hosts``, ``--worker_hosts``, ``--job_name``,
``--task`` and start one process per task, e.g. on one machine::

    python train.py --config_file C --ps_hosts=localhost:2222 \
        --worker_hosts=localhost:2223,localhost:2224 --job_name=ps --task=0
    python train.py --config_file C ... --job_name=worker --task=0  # chief
    python train.py --config_file C ... --job_name=worker --task=1

Variables live on the parameter servers; the chief (worker task 0)
initialises or restores them, writes checkpoints and summaries; other
workers wait for it.  Updates are asynchronous unless ``--sync_replicas``
(each step then averages ``num_replicas`` workers' gradients, by default
all of them).  ``runners/train_distributed.sh`` starts a whole cluster on
one machine.  ``--master`` (with ``--task``, ``--num_ps_tasks``,
``--num_replicas``) instead joins servers started elsewhere.

The training graph lives in ``li_programs/train/training_graph.py``, the local
loop in ``li_programs/train/train_loop.py`` and the distributed path in
``li_programs/distributed/distributed_train.py``; this file reads the command
line and runs one of them.
"""
import os
import sys

from libs.core import quiet_tf  # filters TensorFlow's start-up noise
tf = quiet_tf.import_tensorflow()

from li_programs.config import cli
from li_programs.distributed import cluster as cluster_lib
from li_programs.distributed import distributed_train
from li_programs.runtime import input_errors
from li_programs.config import original_notes
from li_programs.train import random_seed
from li_programs.runtime import run_folders
from li_programs.runtime import run_record
from li_programs.train import train_loop
from li_programs.train import train_start
from li_programs.train import loss_guard
from li_programs.train import training_graph
from li_programs.train import training_marker


PROGRAM = 'train.py'


def main(argv):
  cfg = cli.load_program_config('train', argv)
  training_graph.check_clones(cfg.train_batch_size, cfg.num_clones)
  original_notes.print_notes('train.py', cfg)
  if cfg.display_warning:
    tf.logging.set_verbosity(tf.logging.INFO)
  plan = cluster_lib.training_plan(cfg)
  if plan.is_ps:
    return distributed_train.run_parameter_server(cfg, plan)
  dirs = run_folders.program_dirs(cfg)
  train_dir = dirs.train
  if plan.is_distributed and not plan.is_chief:
    return distributed_train.train_distributed(cfg, plan, train_dir)
  run_folders.check_folders(dirs, roles=('train',))
  train_start.check_start(cfg, train_dir)
  # Only the chief (or the one local trainer) writes the train folder.
  with training_marker.TrainingMarker(train_dir):
    run_record.start('train.py', train_dir, cfg, argv)
    if plan.is_distributed:
      return distributed_train.train_distributed(cfg, plan, train_dir)
    return train_locally(cfg, train_dir)


def train_locally(cfg, train_dir):
  """One process, ``num_clones`` towers; returns the exit status."""
  graph = tf.Graph()
  with graph.as_default():
    random_seed.apply_random_seed(cfg.random_seed)
    next_batch, dataset = training_graph.tower_samples(cfg)
    ops = training_graph.build_train_ops(
        cfg, next_batch, dataset.num_of_classes, dataset.ignore_label,
        train_dir)
    os.makedirs(train_dir, exist_ok=True)
    with train_loop.create_session(cfg) as sess:
      train_loop.initialize(sess, ops, train_dir, cfg.config_file,
                            cfg.tf_initial_checkpoint)
      writer = tf.summary.FileWriter(train_dir, graph)
      try:
        with train_loop.SignalCatcher() as catcher:
          step = train_loop.train_loop(
              sess, ops, train_dir, cfg.training_number_of_steps,
              cfg.save_checkpoint_steps, cfg.save_summaries_steps,
              cfg.log_steps, writer, catcher, cfg.save_interval_secs,
              cfg.save_summaries_secs)
      except train_loop.TrainingInterrupted as stop:
        step = int(sess.run(ops.global_step))
        print('Interrupted by signal %d at step %d; checkpoint saved to %s'
              % (stop.signum, step, train_dir))
        return 128 + stop.signum
      except loss_guard.TrainingDivergedError as err:
        sys.stderr.write('train.py: error: %s\n' % err)
        return 1
      except tf.errors.OpError as err:
        explained = input_errors.from_pipeline_error(err, dataset.files)
        if explained is None:
          raise
        raise explained from err
      finally:
        writer.close()
  print('Training finished at step %d; checkpoints in %s' % (step, train_dir))
  return 0


def run(argv=None):
  """The command line (``sys.argv[1:]`` when ``argv`` is None): ``main``
  with one-line errors; the exit status."""
  return cli.run_command_line(PROGRAM, main, argv)
