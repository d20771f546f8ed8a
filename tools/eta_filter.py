"""Adds the remaining time to train.py's progress lines.

    python train.py ... | python tools/eta_filter.py --total_steps 600

Copies its input to stdout line by line; a line ``step N: loss = L (R
steps/s)`` without an ETA gets ``, ETA m:ss`` appended, estimated from the
rate over the whole run so far (steadier than the last interval's). Other
lines pass through unchanged.
"""
import argparse
import re
import sys
import time

_STEP_LINE = re.compile(r'^step (\d+): loss = \S+ \(([0-9.]+) steps/s\)')


def format_duration(seconds):
  """'m:ss' or 'h:mm:ss'."""
  seconds = int(round(max(seconds, 0)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return '%d:%02d:%02d' % (hours, minutes, secs)
  return '%d:%02d' % (minutes, secs)


class EtaEstimator(object):
  """Remaining time from the steps seen so far and their timestamps."""

  def __init__(self, total_steps, clock=time.time):
    self.total_steps = total_steps
    self._clock = clock
    self._first = None  # (step, time) of the first progress line

  def annotate(self, line):
    """Returns ``line`` with ``, ETA ...`` added when it is a step line."""
    match = _STEP_LINE.match(line)
    if not match or 'ETA' in line:
      return line
    step, rate = int(match.group(1)), float(match.group(2))
    now = self._clock()
    if self._first is None or step <= self._first[0]:
      self._first = (step, now)
    else:
      elapsed = now - self._first[1]
      if elapsed > 0:
        rate = (step - self._first[0]) / elapsed
    if rate <= 0:
      return line
    remaining = max(self.total_steps - step, 0) / rate
    return '%s, ETA %s' % (line.rstrip('\n'), format_duration(remaining)) + \
        ('\n' if line.endswith('\n') else '')


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--total_steps', type=int, required=True)
  args = parser.parse_args(argv)
  if args.total_steps < 0:
    parser.error('--total_steps must be >= 0, got %d' % args.total_steps)
  estimator = EtaEstimator(args.total_steps)
  for line in sys.stdin:
    sys.stdout.write(estimator.annotate(line))
    sys.stdout.flush()
  return 0


if __name__ == '__main__':
  sys.exit(main())
