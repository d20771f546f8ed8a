"""Counting the records of a TFRecord file from its framing alone.

Each record is an 8-byte little-endian length, the masked CRC-32C of those
8 bytes, the data and the masked CRC-32C of the data.  Counting reads only
the 12 header bytes of each record and checks the length's checksum before
trusting it, so garbage appended to a file (or a damaged header) is found
at the record where it starts instead of sending the count seeking by a
random length.  Plain Python, the same on every TensorFlow version.
"""
import os
import struct

_CRC32C_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _crc_table():
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ (_CRC32C_POLY if crc & 1 else 0)
    table.append(crc)
  return table


_TABLE = _crc_table()


def crc32c(data):
  """CRC-32C (Castagnoli) of ``data`` (bytes)."""
  crc = 0xFFFFFFFF
  for byte in bytearray(data):
    crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
  """The checksum as TFRecord files store it."""
  crc = crc32c(data)
  return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & (
      0xFFFFFFFF)


def count_file_records(path):
  """``(count, damage)`` for one TFRecord file: the records read intact up
  to the first damaged header, and None or ``(path, count, cause)``
  describing the damage (see record_checks.damaged_file_message)."""
  size = os.path.getsize(path)
  count = 0
  with open(path, 'rb') as f:
    position = 0
    while position < size:
      header = f.read(12)
      if len(header) < 12:
        return count, (path, count, 'a record header is cut off at byte %d'
                       % size)
      length, stored_crc = struct.unpack('<QI', header)
      if masked_crc32c(header[:8]) != stored_crc:
        return count, (path, count, 'record %d has a damaged header at byte '
                       '%d: garbage after the records, or a corrupt file'
                       % (count + 1, position))
      end = position + 12 + length + 4
      if end > size:
        return count, (path, count, 'record %d ends past byte %d'
                       % (count + 1, size))
      f.seek(end)
      position = end
      count += 1
  return count, None
