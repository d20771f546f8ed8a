"""Checks that the TFRecord files of a split form one complete shard set.

DeepLab names shards ``{split}-{i:05d}-of-{n:05d}.tfrecord``.  A split whose
shards disagree on ``n`` (an older build with another ``--num_shards`` left
beside a newer one), lacks some ``i`` (an interrupted build or copy) or
holds only empty files would be read silently (records counted twice, or
missing, or an evaluation of nothing), so ``shard_set_problem`` names what is
wrong.  A 0-byte shard followed by shards with records cannot come from a
build (a build leaves empty shards only at the end, when there are more
shards than records to spread) and is named too.  Files that do not follow
the naming are left as they are.
"""
import collections
import os
import re

_SHARD = re.compile(r'-(\d{5})-of-(\d{5})\.tfrecord$')


def shard_index(path, split_name):
  """``(i, n)`` of a file named ``{split}-{i}-of-{n}.tfrecord``, else None."""
  name = os.path.basename(path)
  match = _SHARD.search(name)
  if not match or name[:match.start()] != split_name:
    return None
  return int(match.group(1)), int(match.group(2))


def _names(paths, limit=4):
  shown = [os.path.basename(p) for p in paths[:limit]]
  return ', '.join(shown) + (', ...' if len(paths) > limit else '')


def shard_set_problem(files, split_name, dataset_dir, fix):
  """One line saying what is wrong with the split's ``files``, or None.

  Args:
    files: the sorted files of the split.
    fix: what to do, appended to the message.
  """
  sets = collections.defaultdict(list)
  for path in files:
    index = shard_index(path, split_name)
    if index is not None:
      sets[index[1]].append((index[0], path))
  where = 'split %r in %s' % (split_name, dataset_dir)
  if len(sets) > 1:
    kinds = '; '.join('%d file(s) of -of-%05d (%s)' % (
        len(members), n, _names([p for _, p in sorted(members)]))
                      for n, members in sorted(sets.items()))
    return ('%s mixes shard sets: %s, an older build left beside a newer '
            'one or an interrupted build; %s' % (where, kinds, fix))
  for n, members in sets.items():
    present = {i for i, _ in members}
    missing = ['%s-%05d-of-%05d.tfrecord' % (split_name, i, n)
               for i in range(n) if i not in present]
    if missing:
      return ('%s is missing %d of its %d shards (%s), an interrupted build '
              'or copy; %s' % (where, len(missing), n, ', '.join(missing[:4])
                               + (', ...' if len(missing) > 4 else ''), fix))
  sizes = [(path, os.path.getsize(path)) for path in files]
  if all(size == 0 for _, size in sizes):
    return ('%s holds no records: its %d file(s) are empty (%s); %s'
            % (where, len(sizes), _names(files), fix))
  for position, (path, size) in enumerate(sizes):
    if size == 0 and any(later for _, later in sizes[position + 1:]):
      return ('TFRecord file %s is empty (0 bytes) while later shards of %s '
              'hold records: a damaged or interrupted copy; %s'
              % (path, where, fix))
  return None
