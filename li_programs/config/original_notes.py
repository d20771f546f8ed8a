"""One-line notes where an option means something else than in the original.

The original LI-Convs code silently did surprising things with some option
combinations, and accepted options that have no effect here. The programs
keep the sensible behaviour and print one line per such option so a user
comparing with the original knows (docs/differences.md lists them).
"""
import sys

from li_models import registry
from li_programs.config import config_schema


def _get(cfg, name, default=None):
  try:
    return getattr(cfg, name)
  except AttributeError:
    return default


def _uses_li(cfg):
  return registry.uses_li(_get(cfg, 'model_variant'),
                         _get(cfg, 'dpn_variant'))


# Options the original read only from its command line: set in an INI they
# had no effect there.  Here the INI value applies; a note says so.
FLAG_ONLY_IN_ORIGINAL = ('top_k_percent_pixels', 'hard_example_mining_step',
                         'upsample_logits', 'merge_method')
_LI_DPN_LISTS = ('li_zones_dpn', 'li_decay_stds_dpn', 'li_rates_dpn')


def _ini_notes(cfg):
  """INI values the original ignored, where they differ from its default."""
  notes = []
  for name in FLAG_ONLY_IN_ORIGINAL:
    value = _get(cfg, name)
    if (name in getattr(cfg, 'ini_keys', ()) and
        value != config_schema.OPTIONS_BY_NAME[name].default):
      notes.append('note: %s = %s from %s applies here; the original read '
                   'it only as a command-line flag and ignored the INI value'
                   % (name, value, cfg.config_file))
  return notes


def _model_notes(cfg):
  notes = []
  rates = _get(cfg, 'atrous_rates') or []
  if registry.uses_li(None, _get(cfg, 'dpn_variant')):
    for name in _LI_DPN_LISTS:
      values = _get(cfg, name)
      if values is not None and len(values) > len(rates) > 0:
        notes.append('note: %s has %d entries for %d atrous rates; the '
                     'first %d are used (the original also left the rest '
                     'unused)' % (name, len(values), len(rates), len(rates)))
  if _get(cfg, 'aspp_with_separable_conv') is False:
    notes.append('warning: aspp_with_separable_conv = False has no effect: '
                 'the ASPP branches are separable, as in the original')
  if _uses_li(cfg) and _get(cfg, 'li_activation') == 'none':
    notes.append('note: li_activation = none: the LI layers have no '
                 'activation here; the original applied relu6 for every '
                 'value other than relu')
  given = [name for name in ('li_weight_initilizer_min_max_dpn',
                             'li_weight_initilizer_min_max_backbone')
           if _get(cfg, name) is not None]
  if _uses_li(cfg) and len(given) == 1:
    notes.append('note: %s is used, li_weight_initilizer_min_max for the '
                 'rest; the original used li_weight_initilizer_min_max for '
                 'both unless the _dpn and _backbone ranges were both given'
                 % given[0])
  return notes


def _train_notes(cfg):
  notes = []
  if _get(cfg, 'freeze_backbone_network') and _get(
      cfg, 'finetune_li_weight_only'):
    notes.append('note: freeze_backbone_network and finetune_li_weight_only '
                 'together train the LI variables outside the backbone; the '
                 'original ignored finetune_li_weight_only and trained every '
                 'variable outside the backbone')
  if _get(cfg, 'profile_logdir'):
    notes.append('warning: profile_logdir has no effect here: no profiles '
                 'are written to %s' % cfg.profile_logdir)
  return notes


def _eval_notes(cfg):
  notes = []
  scales = _get(cfg, 'eval_scales_replace') or _get(cfg, 'eval_scales') or [1.0]
  if _get(cfg, 'add_flipped_images') and [float(s) for s in scales] == [1.0]:
    notes.append('note: add_flipped_images at eval_scales 1.0: the flipped '
                 'image is averaged in here; the original ignored '
                 'add_flipped_images at the single scale 1.0')
  batch = _get(cfg, 'eval_batch_size', 1)
  if batch is not None and batch != 1:
    notes.append('warning: eval_batch_size has no effect here: evaluation '
                 'runs one image at a time (the results do not depend on '
                 'it)')
  return notes


def notes_for(cfg):
  """The note lines for a loaded config (``cfg.mode`` picks the program)."""
  notes = _ini_notes(cfg) + _model_notes(cfg)
  if cfg.mode == 'train':
    notes += _train_notes(cfg)
  else:
    notes += _eval_notes(cfg)
  return notes


def print_notes(program, cfg, stream=None):
  """Writes ``<program>: <note>`` for every note of ``cfg``."""
  stream = sys.stderr if stream is None else stream
  for line in notes_for(cfg):
    stream.write('%s: %s\n' % (program, line))
  stream.flush()
