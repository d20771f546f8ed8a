"""Every relative link in the README and docs/ reaches a file, and every
``#anchor`` a heading of that file (GitHub's anchor rule)."""
import glob
import os
import re

import pytest

from helpers.paths import REPO_ROOT

_LINK = re.compile(r'\]\(([^)\s]+)\)')


def _markdown_files():
  return [os.path.join(REPO_ROOT, 'README.md')] + sorted(
      glob.glob(os.path.join(REPO_ROOT, 'docs', '*.md')))


def _strip_code(text):
  text = re.sub(r'```.*?```', '', text, flags=re.S)
  return re.sub(r'`[^`\n]*`', '', text)


def anchors_of(path):
  """The anchors GitHub makes for the headings of a Markdown file."""
  with open(path) as f:
    text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
  anchors = set()
  for heading in re.findall(r'^#+\s+(.*)$', text, re.M):
    slug = re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
    anchors.add(slug)
  return anchors


def test_anchor_rule_matches_github():
  """The rule drops punctuation and backticks, keeps word characters and
  hyphens, and turns spaces into hyphens."""
  path = os.path.join(REPO_ROOT, 'docs', 'performance.md')
  assert 'the-fast-op-graph' in anchors_of(path)
  assert 'tensorflow-lite-at-evaluation' in anchors_of(path)


@pytest.mark.parametrize('path', _markdown_files(),
                         ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_relative_links_resolve(path):
  with open(path) as f:
    text = _strip_code(f.read())
  broken = []
  for target in _LINK.findall(text):
    if re.match(r'^[a-z]+:', target):  # http:, https:, mailto:
      continue
    file_part, _, anchor = target.partition('#')
    resolved = (os.path.normpath(os.path.join(os.path.dirname(path),
                                              file_part))
                if file_part else path)
    if not os.path.exists(resolved):
      broken.append('%s (no such file)' % target)
    elif anchor and resolved.endswith('.md') and (
        anchor not in anchors_of(resolved)):
      broken.append('%s (no such heading)' % target)
  assert not broken, '%s: %s' % (os.path.relpath(path, REPO_ROOT), broken)
