"""Timing, memory and machine facts of the benchmarks (no TensorFlow here).

Timings are wall time (``time.perf_counter``); memory is peak resident
memory (``peak_rss_mib``), which does not depend on how busy the machine
is.
"""
import os
import platform
import statistics
import sys
import time

from libs.core import memory


class BenchmarkError(ValueError):
  """Bad benchmark arguments or a failed worker (one-line message)."""


def time_calls(fn, warmup, repeats):
  """Runs ``fn`` ``warmup`` times untimed, then returns ``repeats`` timings."""
  return time_interleaved([fn], warmup, repeats)[0]


def time_interleaved(fns, warmup, repeats):
  """``time_calls`` for several callables at once: one call of each in turn
  (the order flips every repeat), so that a machine whose speed drifts slows
  them alike; returns one list of timings per callable."""
  if repeats < 1 or warmup < 0:
    raise BenchmarkError('repeats must be >= 1 and warmup >= 0, got %r, %r'
                         % (repeats, warmup))
  for _ in range(warmup):
    for fn in fns:
      fn()
  times = [[] for _ in fns]
  order = list(range(len(fns)))
  for _ in range(repeats):
    for i in order:
      start = time.perf_counter()
      fns[i]()
      times[i].append(time.perf_counter() - start)
    order.reverse()
  return times


def time_on_command(fn, warmup, commands, replies):
  """``time_calls`` paced by another process, so that workers of two
  TensorFlow builds can take turns run by run.

  After ``warmup`` untimed calls it writes ``ready`` to ``replies``; then
  each ``run`` line read from ``commands`` is one timed call, answered by
  ``done``.  The end of ``commands`` (or any other line) ends the timing.
  """
  for _ in range(warmup):
    fn()
  replies.write('ready\n')
  replies.flush()
  times = []
  for line in commands:
    if line.strip() != 'run':
      break
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
    replies.write('done\n')
    replies.flush()
  if not times:
    raise BenchmarkError('the driver asked for no timed run')
  return times


def summarize(times):
  """Median, min, max and all timings (seconds)."""
  return {'median_s': statistics.median(times), 'min_s': min(times),
          'max_s': max(times), 'times_s': [round(t, 6) for t in times]}


def log(message):
  """A timestamped progress line on stderr."""
  sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), message))
  sys.stderr.flush()


def peak_rss_mib():
  """Peak resident memory of this process so far, MiB
  (``libs.core.memory.peak_rss_mib``)."""
  return memory.peak_rss_mib()


def loadavg():
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return None


def machine_info():
  """CPU model and flags, usable CPUs, memory (timings are wall time)."""
  info = {'hostname': platform.node(), 'os_cpu_count': os.cpu_count(),
          'python': platform.python_version(), 'cpu': None, 'cpu_flags': []}
  try:
    info['usable_cpus'] = len(os.sched_getaffinity(0))
  except AttributeError:
    info['usable_cpus'] = os.cpu_count()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        if key.strip() == 'model name' and not info['cpu']:
          info['cpu'] = value.strip()
        elif key.strip() == 'flags' and not info['cpu_flags']:
          info['cpu_flags'] = sorted(set(value.split()) & {
              'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni'})
    with open('/proc/meminfo') as f:
      info['memory_gib'] = round(int(f.readline().split()[1]) / 2.0 ** 20, 1)
  except (IOError, ValueError, IndexError):
    pass
  return info
