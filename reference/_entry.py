"""The entry file format: ``b"CSP\\x02"``, the payload length and the XXH3-64 of the payload
(8 bytes each, big-endian), then the payload (the restricted pickle of the value)."""

from __future__ import annotations

import io
import struct
from typing import Any

from xxhash import xxh3_64_intdigest

from cachespec.reference._errors import CacheError
from cachespec.reference._values import decode_value, dump_value

MAGIC = b"CSP\x02"
# magic, payload length, XXH3-64 of the payload. The checksum is what turns bytes overwritten in
# the middle of a payload into a CacheError instead of a silently wrong value; XXH3 costs a few
# microseconds per 100 KB, where CRC-32 would cost more than the read itself.
_HEADER = struct.Struct(">4sQQ")
_BLANK_HEADER = bytes(_HEADER.size)


def pack_entry(payload: bytes) -> bytes:
    """The bytes of an entry file holding ``payload``."""
    return _HEADER.pack(MAGIC, len(payload), xxh3_64_intdigest(payload)) + payload


def encode_entry(value: Any) -> bytes:
    """``pack_entry(encode_value(value))``, pickling straight after the header (no extra copy)."""
    buffer = io.BytesIO()
    buffer.write(_BLANK_HEADER)
    dump_value(buffer, value)
    length = buffer.tell() - _HEADER.size
    with buffer.getbuffer() as view:
        checksum = xxh3_64_intdigest(view[_HEADER.size:])
    buffer.seek(0)
    buffer.write(_HEADER.pack(MAGIC, length, checksum))
    return buffer.getvalue()


def unpack_entry(data: bytes, where: str) -> Any:
    """The value in an entry file's bytes; CacheError if they are not one complete entry."""
    if len(data) < _HEADER.size:
        raise CacheError(f"{where}: entry truncated to {len(data)} bytes")
    magic, length, checksum = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CacheError(f"{where}: not a cachespec entry (bad magic {magic!r})")
    if length != len(data) - _HEADER.size:
        raise CacheError(f"{where}: entry holds {len(data) - _HEADER.size} payload bytes, header says {length}")
    with memoryview(data) as view:
        if xxh3_64_intdigest(view[_HEADER.size:]) != checksum:
            raise CacheError(f"{where}: payload checksum mismatch (the entry was overwritten or damaged)")
    return decode_value(data, where, _HEADER.size)


__all__ = ["MAGIC", "encode_entry", "pack_entry", "unpack_entry"]
