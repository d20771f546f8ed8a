"""The model's start: resume from the train folder, or restore an initial
checkpoint (SPEC section 8).
"""
import tensorflow.compat.v1 as tf

from li_programs.checkpoints import checkpoint_state
from li_programs.train import multipliers


def variables_to_restore(checkpoint_path, variables, exclude_scopes=()):
  """Maps checkpoint names to the given variables present in the checkpoint.

  Variables whose name starts with one of ``exclude_scopes``, and those
  missing from the checkpoint, are skipped (reported in the second return
  value).

  Returns:
    ``(var_map, skipped_names)``.

  Raises:
    ValueError: the checkpoint cannot be read, or a variable's shape differs
      from the stored one.
  """
  try:
    reader = tf.train.load_checkpoint(checkpoint_path)
  except Exception as err:  # re-raised as one line
    raise ValueError('cannot read checkpoint %s: %s'
                     % (checkpoint_path, str(err).splitlines()[0])) from err
  shapes = reader.get_variable_to_shape_map()
  var_map, skipped = {}, []
  for var in variables:
    name = var.op.name
    if multipliers.starts_with_scope(var, exclude_scopes) or (
        name not in shapes):
      skipped.append(name)
      continue
    want = var.shape.as_list()
    if list(shapes[name]) != want:
      raise ValueError('checkpoint %s has %s with shape %s, the model needs '
                       '%s' % (checkpoint_path, name, shapes[name], want))
    var_map[name] = var
  return var_map, skipped


def model_init_fn(train_logdir, tf_initial_checkpoint, initialize_last_layer,
                  last_layers, variables=None):
  """Returns ``fn(sess)`` restoring variables from the initial checkpoint,
  or None when there is nothing to do (no checkpoint given, or
  ``train_logdir`` already holds one: the run resumes instead).

  As the original: every global variable (optimizer slots included) but
  ``global_step`` and, unless ``initialize_last_layer``, those whose name
  starts with a last-layer scope, restored where the checkpoint has it.
  Call it after the optimizer has created its slots.
  """
  if not tf_initial_checkpoint:
    return None
  if train_logdir and checkpoint_state.latest(train_logdir):
    return None
  if variables is None:
    variables = tf.global_variables()
  exclude = ['global_step']
  if not initialize_last_layer:
    exclude.extend(last_layers)
  var_map, skipped = variables_to_restore(tf_initial_checkpoint, variables,
                                          exclude)
  if not var_map:
    tf.logging.warning('%s shares no variable with the model; nothing is '
                       'initialised from it', tf_initial_checkpoint)
    return None
  saver = tf.train.Saver(var_map, reshape=False)

  def init_fn(sess):
    saver.restore(sess, tf_initial_checkpoint)
    return len(var_map), skipped

  return init_fn
