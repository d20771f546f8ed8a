"""The training loss: pixel-wise softmax cross-entropy with the
ignore label, hard-pixel mining, and the composed form of the
fast op graph.
"""
import contextlib

import tensorflow.compat.v1 as tf

from libs.core import op_graphs
from libs.core import resize
from libs.core import tf_compat


def _xla_scope(compile_with_xla):
  """Marks the ops built inside for XLA compilation, or does nothing."""
  if compile_with_xla:
    return tf.xla.experimental.jit_scope()
  return contextlib.nullcontext()


def composed_cross_entropy(labels, logits, compile_with_xla=False):
  """Softmax cross-entropy per row of ``logits`` ``[N, C]`` against class
  ids ``labels`` ``[N]``: the loss and gradient of
  ``tf.nn.sparse_softmax_cross_entropy_with_logits``, from elementwise ops
  and reductions, with the gradient (softmax - one-hot) written out;
  ``compile_with_xla`` fuses each of the two into one XLA computation.

  Why: under TensorFlow 2.x the fused op's CPU kernel is the slow one;
  composed, and more so compiled by XLA, forward plus backward take a
  fraction of its time.  Under 1.15.5 the fused op is the faster
  (docs/performance.md).
  """
  labels = tf.convert_to_tensor(labels)
  num_classes = tf.dimension_value(logits.shape[-1])
  if num_classes is None:
    num_classes = tf.shape(logits)[-1]

  @tf.custom_gradient
  def cross_entropy(logits):
    with _xla_scope(compile_with_xla):
      shifted = logits - tf.reduce_max(logits, axis=1, keepdims=True)
      exp = tf.exp(shifted)
      total = tf.reduce_sum(exp, axis=1, keepdims=True)
      picked = tf.squeeze(tf.gather(shifted, tf.expand_dims(labels, 1),
                                    batch_dims=1), 1)
      losses = tf.log(tf.squeeze(total, 1)) - picked

    def grad(upstream):
      with _xla_scope(compile_with_xla):
        upstream = tf.expand_dims(upstream, 1)
        return (exp * (upstream / total) -
                tf.one_hot(labels, num_classes, dtype=logits.dtype) *
                upstream)
    return losses, grad
  return cross_entropy(logits)


def pixel_cross_entropy(labels, logits, op_graph=op_graphs.FAST):
  """Per-row softmax cross-entropy: the original's fused op, or under the
  fast op graph on TensorFlow 2.x ``composed_cross_entropy``, compiled by
  XLA where TensorFlow has it (same numbers up to float rounding, faster
  training steps: docs/performance.md)."""
  if op_graph == op_graphs.FAST and tf_compat.tensorflow_major() >= 2:
    return composed_cross_entropy(
        labels, logits, compile_with_xla=tf.test.is_built_with_xla())
  return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                        logits=logits)


def softmax_cross_entropy_loss(logits, labels, num_classes, ignore_label,
                               loss_weight=1.0, upsample_logits=True,
                               hard_example_mining_step=0,
                               top_k_percent_pixels=1.0, scope=None,
                               op_graph=op_graphs.FAST):
  """Pixel-wise softmax cross-entropy, added to tf.GraphKeys.LOSSES.

  Logits are bilinearly resized (align_corners) to the label size, or, with
  ``upsample_logits=False``, labels are resized (nearest) to the logits.
  Pixels labelled ``ignore_label`` get weight 0. With
  ``top_k_percent_pixels < 1`` only the hardest pixels count: the kept share
  ramps linearly from 100% at step 0 to ``top_k_percent_pixels`` at
  ``hard_example_mining_step`` (immediately when that is 0).

  Args:
    logits: ``[B, h, w, C]``.
    labels: ``[B, H, W, 1]`` or ``[B, H, W]`` integer labels.
    op_graph: 'original' takes the original's ops; 'fast' upsamples as
      matrix products (``libs.core.resize``) and takes the faster of the
      fused cross-entropy op and ``composed_cross_entropy`` (see
      ``pixel_cross_entropy``).

  Returns:
    The scalar loss tensor.
  """
  if not 0.0 < top_k_percent_pixels <= 1.0:
    raise ValueError('top_k_percent_pixels must be in (0, 1], got %r'
                     % (top_k_percent_pixels,))
  if hard_example_mining_step < 0:
    raise ValueError('hard_example_mining_step must be >= 0, got %r'
                     % (hard_example_mining_step,))
  with tf.name_scope(scope, 'softmax_loss', [logits, labels]):
    if labels.shape.ndims == 3:
      labels = tf.expand_dims(labels, -1)
    if upsample_logits:
      # The fast graph: forward and backward as MatMuls where the label
      # size is static (libs/core/resize.py).
      label_size = labels.shape[1:3]
      size = (label_size.as_list() if label_size.is_fully_defined() else
              tf.shape(labels)[1:3])
      logits = resize.resize_bilinear(logits, size, op_graph)
    else:
      labels = tf.image.resize_nearest_neighbor(
          labels, tf.shape(logits)[1:3], align_corners=True)
    flat_labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    flat_logits = tf.reshape(logits, [-1, num_classes])
    keep = tf.not_equal(flat_labels, ignore_label)
    weights = tf.cast(keep, tf.float32) * loss_weight
    # Ignored pixels get a harmless in-range class; their weight is 0.
    safe_labels = tf.where(keep, flat_labels, tf.zeros_like(flat_labels))
    # The one-hot cross-entropy (same loss, same gradient softmax - one_hot)
    # without materialising the one-hot labels in the forward pass.
    pixel_losses = pixel_cross_entropy(safe_labels, flat_logits,
                                       op_graph) * weights

    if top_k_percent_pixels == 1.0:
      total = tf.reduce_sum(pixel_losses)
      present = tf.reduce_sum(tf.cast(tf.greater(weights, 0), tf.float32))
      loss = tf.div_no_nan(total, present)
    else:
      num_pixels = tf.cast(tf.size(pixel_losses), tf.float32)
      if hard_example_mining_step == 0:
        ratio = top_k_percent_pixels
      else:
        step = tf.cast(tf.train.get_or_create_global_step(), tf.float32)
        progress = tf.minimum(step / float(hard_example_mining_step), 1.0)
        ratio = 1.0 - (1.0 - top_k_percent_pixels) * progress
      k = tf.maximum(tf.cast(ratio * num_pixels, tf.int32), 1)
      top_losses, _ = tf.nn.top_k(pixel_losses, k=k, sorted=False)
      present = tf.reduce_sum(tf.cast(tf.greater(top_losses, 0), tf.float32))
      loss = tf.div_no_nan(tf.reduce_sum(top_losses), present)
    tf.losses.add_loss(loss)
    return loss
