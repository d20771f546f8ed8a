"""The one line of an error that says what went wrong.

TensorFlow 2.x opens the message of a failed graph op with a generic
paragraph ("Graph execution error:", "Detected at node ... defined at",
the stack, "Node: ...") and states the cause after it; 1.15 states it
first, and restore failures of either put it after "Original error:".
"""
import re

_GENERIC = re.compile(r'(Graph execution error:|Detected at node |Node: |\s)')


def first_line(err):
  """The first line of ``err``'s message that states the cause (the
  exception's class name when there is none)."""
  text = str(getattr(err, 'message', err)).strip()
  if 'Original error:' in text:
    text = text.split('Original error:', 1)[1].strip()
  for line in text.splitlines():
    if line.strip() and not _GENERIC.match(line):
      return line.strip()
  return type(err).__name__
