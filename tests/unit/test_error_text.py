"""The cause line of an error message, as TensorFlow 1.15 and 2.x word it."""
import pytest

from libs.core import error_text


class _OpError(Exception):
  def __init__(self, message):
    super().__init__(message)
    self.message = message


@pytest.mark.parametrize('message,cause', [
    # TensorFlow 2.x: a generic paragraph, then the cause.
    ("Graph execution error:\n\nDetected at node 'save/RestoreV2' defined at "
     "(most recent call last):\n    File \"/tmp/t.py\", line 6, in <module>\n"
     "Node: 'save/RestoreV2'\nRead less bytes than requested\n"
     "\t [[{{node save/RestoreV2}}]]", 'Read less bytes than requested'),
    # TensorFlow 1.15: the cause first.
    ('Read less bytes than requested\n\t [[node save/RestoreV2 (defined at '
     't.py:6) ]]', 'Read less bytes than requested'),
    # Restore failures of either: after "Original error:".
    ('Restoring from checkpoint failed. This is most likely due to ...\n\n'
     'Original error:\n\nKey w not found in checkpoint', 'Key w not found in '
     'checkpoint'),
    ('  one line  ', 'one line'),
])
def test_first_line_is_the_cause(message, cause):
  assert error_text.first_line(_OpError(message)) == cause
  assert error_text.first_line(ValueError(message)) == cause


def test_an_empty_message_gives_the_class_name():
  assert error_text.first_line(KeyError()) == 'KeyError'
