"""The peak memory of this process (no TensorFlow here)."""
import resource


def peak_rss_mib():
  """Peak resident memory of this process so far, MiB.

  Linux's ``VmHWM``: the peak of this program's own memory.  Not
  ``ru_maxrss``, which a process started by ``subprocess`` inherits from
  its parent (the peak of the memory it shared before ``exec``): a child of
  a process that had imported TensorFlow would report at least that
  process's peak.  ``ru_maxrss`` only where there is no ``/proc``.
  """
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) / 1024.0  # kB
  except (IOError, ValueError, IndexError):
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
