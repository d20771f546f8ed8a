"""Imports only go down the package layers (README "Code layout").

Every Python module of the repository is parsed with ``ast`` (no import is
executed); each import of a project module, function-local ones included, must
name a package its layer may use.
"""
import ast
import os

import pytest

from helpers.paths import REPO_ROOT
_LIBS = ('libs.core', 'libs.nets', 'libs.datasets')
_LI = _LIBS + ('li_utils', 'li_models')
_ROOMS = ('li_programs.runtime', 'li_programs.config',
          'li_programs.checkpoints')
ALLOWED = {
    'libs.core': ('libs.core',),
    'libs.nets': ('libs.core', 'libs.nets'),
    'libs.datasets': ('libs.core', 'libs.datasets'),
    'li_utils': _LIBS + ('li_utils',),
    'li_models': _LIBS + ('li_utils', 'li_models'),
    # Inside li_programs, by job, each using only the rooms above it in
    # this list (the programs' commands use them all).
    'li_programs.runtime': _LI + _ROOMS[:1],
    'li_programs.config': _LI + _ROOMS[:2],
    'li_programs.checkpoints': _LI + _ROOMS[:3],
    'li_programs.train': _LI + _ROOMS[:3] + ('li_programs.train',),
    'li_programs.evaluate': _LI + _ROOMS[:3] + ('li_programs.evaluate',),
    'li_programs.report': _LI + _ROOMS[:3] + ('li_programs.report',),
    'li_programs.distributed': _LI + _ROOMS[:3] + (
        'li_programs.train', 'li_programs.distributed'),
    'li_programs.predictor': _LI + _ROOMS[:3] + (
        'li_programs.evaluate', 'li_programs.report'),
    'li_programs': _LI + ('li_programs',),
    # Entry points and tools use the library layers, never an entry point.
    'entry': _LIBS + ('li_utils', 'li_models', 'li_programs', 'tools',
                      'benchmarks', 'dataset_generation'),
}
PROJECT_ROOTS = ('libs', 'li_utils', 'li_models', 'li_programs', 'tools',
                 'benchmarks', 'dataset_generation', 'train', 'validate',
                 'test', 'predict')
_SKIP_DIRS = ('tests', 'docs', 'runners', 'config')


def layer_of(module):
  """The ALLOWED key of a dotted module name."""
  for layer in ALLOWED:
    if module == layer or module.startswith(layer + '.'):
      return layer
  return 'entry'


def project_imports(source, module):
  """(line, imported dotted name) of every project import in ``source``."""
  package = module.rsplit('.', 1)[0] if '.' in module else ''
  found = []
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ''
      if node.level:
        parts = package.split('.')
        parent = '.'.join(parts[:len(parts) - node.level + 1])
        base = '.'.join(p for p in (parent, base) if p)
      # `from pkg import mod` imports pkg.mod when mod is a module.
      names = ['%s.%s' % (base, alias.name) if base in PROJECT_ROOTS or
               base in ALLOWED else base for alias in node.names]
    else:
      continue
    for name in names:
      if name.split('.')[0] in PROJECT_ROOTS:
        found.append((node.lineno, name))
  return found


def upward_imports(source, module):
  """'module:line imports name' for each import above ``module``'s layer."""
  layer = layer_of(module)
  allowed = ALLOWED[layer]
  bad = []
  for line, name in project_imports(source, module):
    if layer == 'entry':
      ok = (name.split('.')[0] not in ('train', 'validate', 'test') and
            any(name == a or name.startswith(a + '.') for a in allowed))
    else:
      ok = any(name == a or name.startswith(a + '.') for a in allowed)
    if not ok:
      bad.append('%s:%d imports %s' % (module, line, name))
  return bad


def repository_modules():
  for dirpath, dirnames, filenames in os.walk(REPO_ROOT):
    rel = os.path.relpath(dirpath, REPO_ROOT)
    dirnames[:] = sorted(d for d in dirnames
                         if not d.startswith('.') and
                         not (rel == '.' and d in _SKIP_DIRS) and
                         not (rel == '.' and not os.path.exists(
                             os.path.join(dirpath, d, '__init__.py'))))
    for filename in sorted(filenames):
      if not filename.endswith('.py'):
        continue
      path = os.path.join(dirpath, filename)
      module = os.path.relpath(path, REPO_ROOT)[:-3].replace(os.sep, '.')
      if module.endswith('.__init__'):
        module = module[:-len('.__init__')]
      yield module, path


def test_every_import_goes_down():
  modules = dict(repository_modules())
  assert {'train', 'libs.nets.mobilenet_v2', 'li_utils.conv_ops',
          'li_models.model', 'li_programs.evaluate.evaluation'} <= set(modules)
  bad = []
  for module, path in sorted(modules.items()):
    with open(path) as f:
      bad += upward_imports(f.read(), module)
  assert not bad, 'imports going up a layer:\n' + '\n'.join(bad)


@pytest.mark.parametrize('module,source', [
    ('libs.nets.mobilenet_v2', 'from li_utils import conv_ops\n'),
    ('libs.nets.resnet_v1_beta', 'def f():\n  import li_models.model\n'),
    ('libs.datasets.data_generator', 'from libs.nets import mobilenet_v2\n'),
    ('li_utils.conv_ops', 'def f():\n  from li_models import model\n'),
    ('li_models.model_config', 'from li_programs import config\n'),
    ('li_programs.evaluate.evaluation', 'import train\n'),
    ('li_programs.config.config',
     'from li_programs.evaluate import evaluation\n'),
    ('li_programs.train.train_loop',
     'def f():\n  from li_programs.report import result_files\n'),
    ('li_programs.evaluate.evaluation',
     'from li_programs.commands import predict\n'),
    ('benchmarks.benchmark', 'def f():\n  import train\n'),
])
def test_an_injected_upward_import_is_found(module, source):
  real = dict(repository_modules())[module]
  with open(real) as f:
    text = f.read()
  assert not upward_imports(text, module)
  assert len(upward_imports(text + source, module)) == 1


def test_downward_and_relative_imports_pass():
  assert not upward_imports('from libs.core import utils\n', 'libs.nets.x')
  assert not upward_imports('from li_models import model\n',
                            'li_programs.train.x')
  assert not upward_imports('from li_programs.config import config\n',
                            'li_programs.train.x')
  assert upward_imports('from . import config\n', 'li_models.model') == []
  assert upward_imports('from ..li_programs import config\n',
                        'li_models.model')


def test_reading_a_config_does_not_import_tensorflow():
  # Config and flag errors must come before TensorFlow's start-up log lines
  # (TensorFlow 2.x prints some to stderr however its log level is set).
  import subprocess
  import sys
  code = ('import sys; from li_programs.config import config, config_help; '
          'sys.exit("tensorflow" in sys.modules)')
  proc = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT)
  assert proc.returncode == 0
