"""The two op graphs a model can be built as (``op_graph`` option).

Kept free of TensorFlow so that the config schema, which lists the
allowed values, can be read without importing it.
"""
FAST = 'fast'
ORIGINAL = 'original'
OP_GRAPHS = (FAST, ORIGINAL)
