"""Checks made before training starts, each refusing with one line."""
from li_programs.checkpoints import checkpoint_state


class TrainingStartError(ValueError):
  """A training run that must not start (one-line message)."""


def check_start(cfg, train_dir):
  """Refuses ``finetune_li_weight_only`` with nothing to fine-tune: no
  ``tf_initial_checkpoint`` and no checkpoint in ``train_dir`` to resume
  would train only the LI weights of a randomly initialised network."""
  if (cfg.finetune_li_weight_only and not cfg.tf_initial_checkpoint and
      checkpoint_state.latest(train_dir) is None):
    raise TrainingStartError(
        'finetune_li_weight_only trains only the LI weights, but there is '
        'no tf_initial_checkpoint and no checkpoint in %s to resume: the '
        'rest of the network would stay random; set tf_initial_checkpoint '
        '(e.g. a published LI-Convs snapshot) or drop '
        'finetune_li_weight_only' % train_dir)
