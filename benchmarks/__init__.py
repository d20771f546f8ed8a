"""The benchmarks: ``make bench`` (``benchmark``, its figures, workers and
report), ``make bench SCALING=1`` (``scaling``) and ``make gpu-check``
(``gpu_check``).  User tools live in ``tools/``."""
