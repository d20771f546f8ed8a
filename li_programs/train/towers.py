"""Training towers (clones) combined the way the original LI-Convs trains.

* Each tower draws its own batch (``train_batch_size / num_clones`` images)
  and builds the model with shared variables.
* Tower 0 is built in the enclosing name scope, tower i > 0 in ``clone_<i>``.
* Tower 0's loss is its data loss plus every regularisation loss of the
  graph; the other towers' losses are their data losses only.
* The towers' gradients are averaged, so a regularisation gradient reaches
  the variables divided by the number of towers.
* Every tower's UPDATE_OPS (BatchNorm moving averages) run each step.
"""
import collections
import contextlib

import tensorflow.compat.v1 as tf

# loss: what the tower's gradients are taken of; data_loss: its own losses
# without regularisation; batch: the dict tower_fn was given; outputs:
# whatever tower_fn returned besides its losses.
Tower = collections.namedtuple('Tower',
                               ['index', 'loss', 'data_loss', 'batch',
                                'outputs'])


def tower_name_scope(index):
  """'' for tower 0 (no scope of its own), else 'clone_<index>'."""
  return 'clone_%d' % index if index else ''


@contextlib.contextmanager
def _tower_scope(index, device):
  with contextlib.ExitStack() as stack:
    if device is not None:
      stack.enter_context(tf.device(device))
    if index:
      stack.enter_context(tf.name_scope(tower_name_scope(index)))
    yield


def build_towers(num_clones, next_batch, tower_fn, device_fn=None):
  """Builds ``num_clones`` towers sharing their variables.

  Args:
    num_clones: number of towers (>= 1).
    next_batch: ``fn(index)`` returning tower ``index``'s batch; called once
      per tower, inside its scope.
    tower_fn: ``fn(batch)`` building the model on ``batch``; returns
      ``(data_losses, outputs)``, data_losses a non-empty list of scalars.
    device_fn: optional ``fn(index)`` giving the tower's device.

  Returns:
    A list of Tower.
  """
  if num_clones < 1:
    raise ValueError('num_clones must be >= 1, got %d' % num_clones)
  towers = []
  for index in range(num_clones):
    device = device_fn(index) if device_fn is not None else None
    with _tower_scope(index, device), tf.variable_scope(
        tf.get_variable_scope(), reuse=True if index else None):
      batch = next_batch(index)
      data_losses, outputs = tower_fn(batch)
      if not data_losses:
        raise ValueError('tower %d has no loss' % index)
      data_loss = tf.add_n(list(data_losses), name='clone_loss')
      loss = data_loss
      if index == 0:
        regularization = tf.losses.get_regularization_losses()
        if regularization:
          loss = tf.add(data_loss, tf.add_n(regularization,
                                            name='regularization_loss'),
                        name='total_clone_loss')
    towers.append(Tower(index, loss, data_loss, batch, outputs))
  return towers


def average_gradients(tower_grads):
  """Averages per-tower ``[(grad, var)]`` lists variable by variable.

  A tower without a gradient for a variable counts as a zero gradient (the
  sum is still divided by the number of towers); variables no tower has a
  gradient for are left out.
  """
  num_towers = len(tower_grads)
  if num_towers == 1:
    return [(g, v) for g, v in tower_grads[0] if g is not None]
  averaged = []
  for pairs in zip(*tower_grads):
    var = pairs[0][1]
    grads = [tf.convert_to_tensor(g) for g, _ in pairs if g is not None]
    if not grads:
      continue
    with tf.name_scope(var.op.name + '/average_grads'):
      total = grads[0] if len(grads) == 1 else tf.add_n(grads)
      averaged.append((total * (1.0 / num_towers), var))
  return averaged


def tower_gradients(optimizer, towers, var_list=None, device_fn=None):
  """Each tower's ``optimizer.compute_gradients`` of its loss, on its
  device, averaged with average_gradients."""
  tower_grads = []
  for tower in towers:
    device = device_fn(tower.index) if device_fn is not None else None
    with _tower_scope(tower.index, device):
      tower_grads.append(optimizer.compute_gradients(tower.loss,
                                                     var_list=var_list))
  return average_gradients(tower_grads)


def all_update_ops():
  """UPDATE_OPS of every tower (the whole graph's collection)."""
  return tf.get_collection(tf.GraphKeys.UPDATE_OPS)
