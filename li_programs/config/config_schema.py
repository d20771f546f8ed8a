"""Every option of the INI configs (and command-line flags), in one table.

Each line: name, type, default, the INI sections it may appear in, help.
A default is the original's flag default: what a key missing from an INI
meant there (docs/differences.md lists where the project's differed).
Types: 'str', 'int', 'float', 'bool', 'path', 'int_list', 'float_list'.
``REQUIRED`` as default means the option must be given (INI or flag).
``choices`` restricts the allowed values; ``MINIMUMS`` (at the end) bounds
numbers.  Append new options at the end of their group; keep one line per
option.
"""
import collections

from libs.core import op_graphs
from li_models import registry
from li_programs.runtime import inference_engine

# minimum: None, '> 0' or '>= 0' (set from MINIMUMS at the end).
Option = collections.namedtuple(
    'Option', ['name', 'type', 'default', 'sections', 'help', 'choices',
               'minimum'], defaults=(None,))

REQUIRED = object()

SECTIONS = ('data', 'model', 'lateral_inhibition', 'train', 'val', 'test')
# Sections merged into the options of every program, then the program's own.
COMMON_SECTIONS = ('data', 'model', 'lateral_inhibition')
MODES = ('train', 'val', 'test')
# The program of each mode (for messages and --help).
PROGRAMS = {'train': 'train.py', 'val': 'validate.py', 'test': 'test.py'}

_EVAL = ('val', 'test')
_ALL_MODES = ('train', 'val', 'test')

MODEL_VARIANTS = registry.MODEL_VARIANTS
DPN_VARIANTS = registry.DPN_VARIANTS


def _opt(name, type_, default, sections, help_, choices=None):
  if isinstance(sections, str):
    sections = (sections,)
  return Option(name, type_, default, tuple(sections), help_, choices)


OPTIONS = [
    # [data]
    _opt('dataset', 'str', REQUIRED, 'data', 'Dataset descriptor name.'),
    _opt('dataset_dir', 'path', REQUIRED, 'data', 'Folder of the TFRecords.'),
    _opt('train_split', 'str', 'train', 'data', 'Split used for training.'),
    _opt('val_split', 'str', 'val', 'data', 'Split used by validate.py.'),
    _opt('test_split', 'str', 'val', 'data', 'Split used by test.py.'),
    _opt('snapshot_root', 'path', REQUIRED, 'data',
         'Root of <config_name>/{train,val,test} outputs.'),
    _opt('num_classes', 'int', None, 'data',
         'Classes of a dataset of your own, label 0 included (built-in '
         'datasets know theirs).'),
    _opt('ignore_label', 'int', None, 'data',
         'Label value of unlabelled pixels of a dataset of your own: 255, '
         'or 0 for ADE20K-style labels.'),
    _opt('class_names', 'str', None, 'data',
         'Class names, one per label value: a comma list or a file with '
         'one name per line (default: the built-in table, else class_<i>).'),
    # [model]
    _opt('model_variant', 'str', REQUIRED, 'model', 'Backbone network.',
         MODEL_VARIANTS),
    _opt('dpn_variant', 'str', 'aspp', 'model',
         'Dense prediction network on top of the backbone.', DPN_VARIANTS),
    _opt('add_image_level_feature', 'bool', True, 'model',
         'Add the image-pooling branch to the ASPP.'),
    _opt('image_pooling_crop_size', 'int_list', None, 'model',
         'Crop size the image pooling averages over (default: the crop).'),
    _opt('image_pooling_stride', 'int_list', [1, 1], 'model',
         'Stride of the image pooling.'),
    _opt('aspp_with_batch_norm', 'bool', True, 'model', 'BatchNorm in ASPP.'),
    _opt('aspp_with_separable_conv', 'bool', True, 'model',
         'Accepted for the original\'s command lines; the ASPP branches are '
         'separable either way, as the original\'s (a warning says so for '
         'False).'),
    _opt('li_aspp_name_scope_compatible', 'bool', False, 'model',
         "Name the LI-ASPP scope 'aspp' instead of 'li_aspp'."),
    _opt('decoder_output_stride', 'int', None, 'model',
         'Output stride of the decoder input features (None: no decoder).'),
    _opt('decoder_use_separable_conv', 'bool', True, 'model',
         'Separable convolutions in the decoder.'),
    _opt('multi_grid', 'int_list', None, 'model',
         'Unit rates of the last ResNet block.'),
    _opt('depth_multiplier', 'float', 1.0, 'model',
         'MobileNetV2 width multiplier.'),
    _opt('logits_kernel_size', 'int', 1, 'model', 'Kernel of the logits conv.'),
    _opt('image_pyramid', 'float_list', None, 'model',
         'Input scales for training (None: the input scale only).'),
    _opt('merge_method', 'str', 'max', 'model',
         'How multi-scale logits are merged.', registry.MERGE_METHODS),
    # [lateral_inhibition]
    _opt('li_zones_dpn', 'int_list', [3, 3, 3], 'lateral_inhibition',
         'LI zone per atrous branch of the DPN.'),
    _opt('li_decay_stds_dpn', 'float_list', [1.0, 1.0, 1.0],
         'lateral_inhibition', 'LI Gaussian sigma per DPN branch.'),
    _opt('li_rates_dpn', 'int_list', [1, 1, 1], 'lateral_inhibition',
         'LI dilation per DPN branch.'),
    _opt('li_zones_backbone', 'int', 3, 'lateral_inhibition',
         'LI zone in the backbone.'),
    _opt('li_decay_stds_backbone', 'float', 1.0, 'lateral_inhibition',
         'LI Gaussian sigma in the backbone.'),
    _opt('li_rates_backbone', 'int', 1, 'lateral_inhibition',
         'LI dilation in the backbone.'),
    _opt('li_activation', 'str', 'relu', 'lateral_inhibition',
         'Activation after each LI layer.', registry.LI_ACTIVATIONS),
    _opt('li_weight_initilizer', 'str', 'random_uniform', 'lateral_inhibition',
         'Initializer of the LI weights.', registry.LI_WEIGHT_INITIALIZERS),
    _opt('li_weight_initilizer_min_max_dpn', 'float_list', None,
         'lateral_inhibition',
         'Init range of DPN LI weights '
         '(default: li_weight_initilizer_min_max).'),
    _opt('li_weight_initilizer_min_max_backbone', 'float_list', None,
         'lateral_inhibition', 'Init range of backbone LI weights (default: '
         'li_weight_initilizer_min_max).'),
    _opt('li_weight_clip_values', 'float_list', [0.0, 1.0],
         'lateral_inhibition', 'LI weights are clipped to this range.'),
    _opt('li_location_for_expanded_conv', 'str', 'after_input',
         'lateral_inhibition', 'Where LI sits in a MobileNetV2 block.',
         registry.EXPANDED_CONV_LI_LOCATIONS),
    _opt('li_backbone_option_mnv2', 'str', 'e', 'lateral_inhibition',
         'Which MobileNetV2 blocks carry LI.', registry.MNV2_LI_OPTIONS),
    _opt('li_resnet_option', 'str', 'a', 'lateral_inhibition',
         'Which ResNet units carry LI.', registry.RESNET_LI_OPTIONS),
    _opt('li_resnet_bottleneck_pos', 'str', 'after_conv1',
         'lateral_inhibition', 'Where LI sits in a bottleneck.',
         registry.RESNET_LI_BOTTLENECK_POSITIONS),
    _opt('li_resnet_block_pos', 'str', 'last', 'lateral_inhibition',
         'LI in the last block or the last two blocks.',
         registry.RESNET_LI_BLOCK_POSITIONS),
    _opt('li_with_batch_norm', 'bool', False, 'lateral_inhibition',
         'BatchNorm after each LI layer.'),
    _opt('li_with_weight_regularizer', 'bool', False, 'lateral_inhibition',
         'L2 regularisation of the LI weights.'),
    _opt('li_weight_initilizer_min_max', 'float_list', [0.0, 0.0],
         'lateral_inhibition', 'Init range of the LI weights where the _dpn '
         'or _backbone range is not given.'),
    # Shared by [train], [val], [test]
    _opt('atrous_rates', 'int_list', None, _ALL_MODES,
         'Atrous rates of the ASPP branches.'),
    _opt('output_stride', 'int', 16, _ALL_MODES,
         'Input / backbone-feature size ratio.'),
    _opt('min_resize_value', 'int', None, _ALL_MODES,
         'Resize so the short side reaches this.'),
    _opt('max_resize_value', 'int', None, _ALL_MODES,
         'Resize so the long side stays below this (see resize_factor).'),
    _opt('resize_factor', 'int', None, _ALL_MODES,
         'Resized sizes are rounded up to a multiple of this plus one; '
         'the long side stays below the largest such size under '
         'max_resize_value.'),
    _opt('op_graph', 'str', 'fast', _ALL_MODES,
         'fast: atrous convolutions from shifted taps where cheaper, '
         '1x1 convolutions as matrix products in training, '
         'BatchNorm folded into depthwise convolutions at inference, the '
         "loss's cross-entropy from elementwise ops (XLA-compiled) on "
         "TensorFlow 2.x, the loss's upsampling as matrix products; "
         'original: op for op the original graph.  Same variables, results '
         'equal up to float rounding.', op_graphs.OP_GRAPHS),
    _opt('inference_engine', 'str', inference_engine.AUTO, _EVAL,
         'Kernels that run the model: session (TensorFlow, as the '
         'original), tflite (the model converted to TensorFlow Lite, '
         'XNNPACK; TensorFlow 2.x) or auto (tflite under TensorFlow 2.x '
         'without a GPU when the split is long enough to repay the '
         'conversion, else session).', inference_engine.ENGINES),
    _opt('winograd', 'bool', False, _EVAL,
         'Under TensorFlow Lite, compute the 3x3 convolutions with at least '
         '128 channels by Winograd F(4x4, 3x3): a little faster for '
         'ResNet backbones, but their converted model holds 4x the weights '
         'of those layers (docs/performance.md).'),
    _opt('intra_op_threads', 'int', None, _ALL_MODES,
         'Threads inside one op (None: every usable CPU; 0: TF default).'),
    _opt('inter_op_threads', 'int', None, _ALL_MODES,
         'Ops run concurrently (None: 2, 1 on one CPU; 0: TF default).'),
    _opt('xla', 'bool', False, _ALL_MODES,
         'XLA JIT auto-clustering.  On CPUs it ran slower here, and under '
         'TensorFlow 1.15 a training graph compiled for over 15 minutes.'),
    _opt('allow_growth', 'bool', True, _ALL_MODES,
         'Let GPU memory grow as needed instead of taking it all at once.'),
    # [train]
    _opt('tf_initial_checkpoint', 'path', None, 'train',
         'Checkpoint to initialise from.'),
    _opt('initialize_last_layer', 'bool', False, 'train',
         'Also restore the last layers from tf_initial_checkpoint.'),
    _opt('last_layers_contain_logits_only', 'bool', False, 'train',
         'Only the logits count as last layers.'),
    _opt('last_layer_gradient_multiplier', 'float', 1.0, 'train',
         'Gradient multiplier of the last layers.'),
    _opt('li_weight_gradient_multiplier', 'float', 1.0, 'train',
         'Gradient multiplier of the LI weights.'),
    _opt('freeze_backbone_network', 'bool', False, 'train',
         'Train only the layers outside the backbone.'),
    _opt('finetune_li_weight_only', 'bool', False, 'train',
         'Train only the lateral_inhibition variables.'),
    _opt('fine_tune_batch_norm', 'bool', True, 'train',
         'Update BatchNorm statistics while training.'),
    _opt('num_clones', 'int', 1, 'train', 'Towers (devices) per worker.'),
    _opt('clone_on_cpu', 'bool', False, 'train', 'Place all towers on CPU.'),
    _opt('train_batch_size', 'int', 8, 'train', 'Images per step, all towers.'),
    _opt('training_number_of_steps', 'int', 30000, 'train', 'Training steps.'),
    _opt('train_crop_size', 'int_list', [513, 513], 'train',
         'Training crop height,width.'),
    _opt('optimizer', 'str', 'sgd', 'train', 'Optimiser.', ('sgd', 'adam')),
    _opt('learning_policy', 'str', 'poly', 'train', 'SGD learning-rate policy.',
         ('poly', 'step')),
    _opt('base_learning_rate', 'float', 0.0001, 'train', 'SGD learning rate.'),
    _opt('end_learning_rate', 'float', 0.0, 'train',
         'Poly policy final learning rate.'),
    _opt('learning_rate_decay_factor', 'float', 0.1, 'train',
         'Step policy decay factor.'),
    _opt('learning_rate_decay_step', 'int', 2000, 'train',
         'Step policy decay period.'),
    _opt('learning_power', 'float', 0.9, 'train', 'Poly policy power.'),
    _opt('slow_start_step', 'int', 0, 'train',
         'Steps trained at slow_start_learning_rate first.'),
    _opt('slow_start_learning_rate', 'float', 0.0001, 'train',
         'Learning rate during slow start.'),
    _opt('momentum', 'float', 0.9, 'train', 'SGD momentum.'),
    _opt('adam_learning_rate', 'float', 0.001, 'train', 'Adam learning rate.'),
    _opt('adam_epsilon', 'float', 1e-08, 'train', 'Adam epsilon.'),
    _opt('weight_decay', 'float', 0.00004, 'train', 'L2 weight decay.'),
    _opt('min_scale_factor', 'float', 0.5, 'train', 'Smallest random scale.'),
    _opt('max_scale_factor', 'float', 2.0, 'train', 'Largest random scale.'),
    _opt('scale_factor_step_size', 'float', 0.25, 'train',
         'Random scale step (0: continuous).'),
    _opt('hard_example_mining_step', 'int', 0, 'train',
         'Steps over which top_k_percent_pixels ramps down to its value.'),
    _opt('top_k_percent_pixels', 'float', 1.0, 'train',
         'Fraction of hardest pixels kept in the loss.'),
    _opt('upsample_logits', 'bool', True, 'train',
         'Upsample logits to the label size (else downsample labels).'),
    _opt('save_checkpoint_steps', 'int', 1000, 'train',
         'Steps between checkpoints.'),
    _opt('save_summaries_steps', 'int', 100, 'train',
         'Steps between summaries.'),
    _opt('save_summaries_images', 'bool', False, 'train',
         'Add image/label/prediction summaries.'),
    _opt('max_to_keep', 'int', None, 'train',
         'Checkpoints kept (None or 0: every one).'),
    _opt('log_steps', 'int', 10, 'train', 'Steps between loss printouts.'),
    _opt('master', 'str', '', 'train', 'TensorFlow master address.'),
    _opt('task', 'int', 0, 'train', 'Task id of this worker (0 = chief).'),
    _opt('num_ps_tasks', 'int', 0, 'train', 'Parameter-server tasks.'),
    _opt('num_replicas', 'int', 1, 'train', 'Worker replicas.'),
    _opt('startup_delay_steps', 'int', 15, 'train',
         'Per-task start delay in steps (workers).'),
    _opt('ps_hosts', 'str', None, 'train',
         'Parameter servers, comma-separated host:port (cluster mode).'),
    _opt('worker_hosts', 'str', None, 'train',
         'Workers, comma-separated host:port; task 0 is the chief.'),
    _opt('job_name', 'str', None, 'train', 'Job of this process.',
         ('ps', 'worker')),
    _opt('sync_replicas', 'bool', False, 'train',
         'Synchronous updates aggregating num_replicas workers.'),
    _opt('cluster_timeout_secs', 'int', 120, 'train',
         'Seconds to wait for parameter servers and the chief.'),
    _opt('save_interval_secs', 'int', None, 'train',
         'Seconds between checkpoints (with or instead of steps).'),
    _opt('save_summaries_secs', 'int', None, 'train',
         'Seconds between summaries (with or instead of steps).'),
    _opt('train_logdir', 'path', None, 'train',
         'Checkpoint and event folder (default: <snapshot_root>/<config '
         'name>/train).'),
    _opt('display_warning', 'bool', False, 'train',
         "Show TensorFlow's info messages while training."),
    _opt('profile_logdir', 'path', None, 'train',
         'Accepted for the original\'s command lines; no profiles are '
         'written (a warning says so).'),
    _opt('random_seed', 'int', None, 'train',
         'Seed of TensorFlow, numpy, Python and the input shuffle (None: '
         'unseeded, every run differs).'),
    # [val] and [test]
    _opt('eval_crop_size', 'int_list', [513, 513], _EVAL,
         'Evaluation crop height,width.'),
    _opt('eval_scales', 'float_list', [1.0], _EVAL,
         'Evaluation input scales.'),
    _opt('add_flipped_images', 'bool', False, _EVAL,
         'Also evaluate left-right flipped inputs.'),
    _opt('keep_all_checkpoints', 'bool', False, 'val',
         'Keep every checkpoint after validation.'),
    _opt('checkpoint_path', 'path', None, 'test', 'Checkpoint to test.'),
    _opt('checkpoint_name', 'str', None, 'test',
         'Checkpoint name inside the train dir to test.'),
    _opt('eval_scales_replace', 'float_list', None, 'test',
         'Scales used instead of eval_scales when set.'),
    _opt('num_plots_to_save', 'int', 0, 'test',
         'Random test samples plotted.'),
    _opt('save_every_frame_miou', 'bool', False, 'test',
         'Record the mIoU of every image.'),
    _opt('calculate_model_flops_and_params', 'bool', False, 'test',
         'Report FLOPs and parameters instead of testing.'),
    _opt('eval_batch_size', 'int', 1, _EVAL,
         'Accepted for the original\'s command lines; evaluation runs one '
         'image at a time (a warning says so for other values).'),
    _opt('checkpoint_dir', 'path', None, _EVAL,
         'Folder of the checkpoints to evaluate (default: the train '
         'folder).'),
    _opt('val_logdir', 'path', None, _EVAL,
         'Validation results folder (default: <snapshot_root>/<config '
         'name>/val).'),
    _opt('test_logdir', 'path', None, 'test',
         'Root of the test results (default: <snapshot_root>/<config '
         'name>/test).'),
    _opt('test_resdir', 'path', None, 'test',
         'Folder of this test run\'s results (default: '
         '<test_logdir>/<checkpoint>/eval_scale_...).'),
]

OPTIONS_BY_NAME = collections.OrderedDict((o.name, o) for o in OPTIONS)
assert len(OPTIONS_BY_NAME) == len(OPTIONS), 'duplicate option in the schema'

# Options whose values must lie above a bound, checked wherever a value is
# read (config.parse_value) and printed by --help: '> 0' (positive) or
# '>= 0' (not negative); every item of a list option.  Unset (None) passes.
# The cluster options are checked with the cluster
# (li_programs/distributed/cluster.py).
_POSITIVE = (
    'depth_multiplier', 'logits_kernel_size', 'image_pyramid',
    'image_pooling_crop_size', 'image_pooling_stride', 'multi_grid',
    'decoder_output_stride', 'li_zones_dpn', 'li_decay_stds_dpn',
    'li_rates_dpn', 'li_zones_backbone', 'li_decay_stds_backbone',
    'li_rates_backbone', 'atrous_rates', 'output_stride', 'min_resize_value',
    'max_resize_value', 'resize_factor', 'num_clones', 'train_batch_size',
    'training_number_of_steps', 'train_crop_size', 'base_learning_rate',
    'learning_rate_decay_factor', 'learning_rate_decay_step',
    'learning_power', 'adam_learning_rate', 'adam_epsilon',
    'min_scale_factor', 'max_scale_factor', 'top_k_percent_pixels',
    'eval_crop_size', 'eval_scales', 'eval_scales_replace', 'eval_batch_size')
_NOT_NEGATIVE = (
    'intra_op_threads', 'inter_op_threads', 'last_layer_gradient_multiplier',
    'li_weight_gradient_multiplier', 'end_learning_rate', 'slow_start_step',
    'slow_start_learning_rate', 'momentum', 'weight_decay',
    'scale_factor_step_size', 'hard_example_mining_step', 'max_to_keep',
    'num_plots_to_save')
MINIMUMS = dict([(n, '> 0') for n in _POSITIVE] +
                [(n, '>= 0') for n in _NOT_NEGATIVE])
OPTIONS = [o._replace(minimum=MINIMUMS.get(o.name)) for o in OPTIONS]
OPTIONS_BY_NAME = collections.OrderedDict((o.name, o) for o in OPTIONS)
assert set(MINIMUMS) <= set(OPTIONS_BY_NAME), 'unknown option in MINIMUMS'


def bound_violation(option, value):
  """What is wrong with ``value`` (a number or a list of them) under
  ``option.minimum``, or None."""
  if not option.minimum or value is None:
    return None
  strict = option.minimum == '> 0'
  items = value if isinstance(value, list) else [value]
  if all(item > 0 or (item == 0 and not strict) for item in items):
    return None
  return '%s must be %s, got %s' % (
      option.name, 'positive (> 0)' if strict else 'zero or more (>= 0)',
      ','.join(str(v) for v in items) if isinstance(value, list) else value)
