"""The README's Python examples run verbatim from the repository root."""
import os
import re
import subprocess
import sys

from conftest import REPO_ROOT


def _python_blocks():
  with open(os.path.join(REPO_ROOT, 'README.md')) as f:
    return re.findall(r'```python\n(.*?)```', f.read(), re.S)


def test_li_layer_toy_example_runs_verbatim():
  blocks = [b for b in _python_blocks() if 'lateral_inhibition_layer' in b]
  assert blocks, 'README lost its LI layer example'
  result = subprocess.run([sys.executable, '-c', blocks[0]], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert '(2, 33, 33, 64)' in result.stdout
