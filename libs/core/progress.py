"""A small dependency-free progress bar.

    bar = ProgressBar(total=120, prefix='train')
    for item in items:
      ...
      bar.update()
    bar.close()

or ``for item in progress(items, total=len(items), prefix='val'): ...``.
On a terminal the bar redraws in place.  On a pipe or log file it prints a
line when another 10% is done, at most one every ``log_interval`` seconds
(10), and the final line, so a log holds a few lines per bar however many
updates there are.
"""
import sys
import time


class ProgressBar(object):
  """Counts finished items out of `total` and draws a text bar."""

  def __init__(self, total, prefix='', stream=None, width=30,
               log_interval=10.0, clock=time.time):
    if total is not None and total < 0:
      raise ValueError('ProgressBar total must be >= 0, got %r' % total)
    self.total = total
    self.prefix = prefix
    self.stream = stream if stream is not None else sys.stderr
    self.width = width
    self.count = 0
    self._clock = clock
    self._start = clock()
    self._log_interval = log_interval
    self._last_line_time = self._start
    self._interactive = getattr(self.stream, 'isatty', lambda: False)()
    self._last_decile = -1
    self._closed = False

  def format(self):
    """The current bar as one line of text (without a newline)."""
    elapsed = max(self._clock() - self._start, 1e-9)
    rate = self.count / elapsed
    head = ('%s ' % self.prefix) if self.prefix else ''
    if self.total:
      fraction = min(float(self.count) / self.total, 1.0)
      filled = int(round(fraction * self.width))
      bar = '#' * filled + '-' * (self.width - filled)
      return '%s[%s] %d/%d (%3d%%) %.1f it/s' % (
          head, bar, self.count, self.total, int(fraction * 100), rate)
    return '%s%d done %.1f it/s' % (head, self.count, rate)

  def update(self, n=1):
    """Marks `n` more items as done and redraws when useful."""
    self.count += n
    if self._interactive:
      self.stream.write('\r' + self.format())
      self.stream.flush()
      return
    if self.total:
      decile = int(10 * min(self.count, self.total) / self.total)
      now = self._clock()
      finished = self.count >= self.total
      if decile != self._last_decile and (
          finished or now - self._last_line_time >= self._log_interval):
        self._last_decile = decile
        self._last_line_time = now
        self.stream.write(self.format() + '\n')
        self.stream.flush()

  def close(self):
    """Finishes the bar (prints the final line once)."""
    if self._closed:
      return
    self._closed = True
    if self._interactive:
      self.stream.write('\r' + self.format() + '\n')
    elif not self.total or self._last_decile != 10:
      self.stream.write(self.format() + '\n')
    self.stream.flush()

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc):
    self.close()
    return False


def progress(iterable, total=None, prefix='', stream=None):
  """Yields the items of `iterable` while drawing a ProgressBar."""
  if total is None and hasattr(iterable, '__len__'):
    total = len(iterable)
  with ProgressBar(total, prefix=prefix, stream=stream) as bar:
    for item in iterable:
      yield item
      bar.update()


def format_duration(seconds):
  """'m:ss' or 'h:mm:ss'."""
  seconds = int(round(max(seconds, 0)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return '%d:%02d:%02d' % (hours, minutes, secs)
  return '%d:%02d' % (minutes, secs)


class TrainingProgress(object):
  """Training log lines: ``step N: loss = L (R steps/s), ETA m:ss``.

  R is the rate since the previous line; the ETA uses the rate over the whole
  run so far, which is steadier.  ``first_step`` is the global step the run
  (or a resumed run) starts from.
  """

  def __init__(self, num_steps, first_step, clock=time.time):
    self.num_steps = num_steps
    self._clock = clock
    self._start = (first_step, clock())
    self._last = self._start

  def line(self, step, loss):
    now = self._clock()
    last_step, last_time = self._last
    rate = (step - last_step) / max(now - last_time, 1e-9)
    start_step, start_time = self._start
    run_rate = (step - start_step) / max(now - start_time, 1e-9)
    remaining = max(self.num_steps - step, 0)
    eta = format_duration(remaining / run_rate) if run_rate > 0 else '?'
    self._last = (step, now)
    return 'step %d: loss = %.4f (%.2f steps/s), ETA %s' % (step, loss, rate,
                                                           eta)
