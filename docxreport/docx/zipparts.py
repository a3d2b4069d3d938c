"""A .docx package written from its parts, reusing the compressed bytes of parts that never change.

:mod:`zipfile` can only compress what it is given, so a package rebuilt for every report would re-deflate
the same styles, settings and fonts every time. A :class:`Member` holds one part already deflated (with its
CRC and sizes); :func:`write_zip` lays members out as a plain zip archive (no zip64: a part is far below
4 GB, and templates are refused long before that).

Entries carry a fixed timestamp (1980-01-01, the zip epoch), so the same report always gives the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DEFLATED = 8
_VERSION = 20  # 2.0: deflate
_UTF8_NAME = 0x800
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00
_UNIX_FILE = 0o100644 << 16


@dataclass(frozen=True)
class Member:
    """One part of a package, deflated: its name, the raw deflate stream, its CRC-32 and sizes."""

    name: str
    compressed: bytes
    crc: int
    size: int


def deflate(name: str, data: bytes, level: int = 6) -> Member:
    """``data`` deflated as the zip member ``name`` (``level`` as in :func:`zlib.compress`)."""
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    compressed = packer.compress(data) + packer.flush()
    return Member(name, compressed, zlib.crc32(data), len(data))


def write_zip(members: Iterable[Member]) -> bytes:
    """A zip archive of ``members``, in the order given."""
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    count = 0
    for m in members:
        name = m.name.encode("utf-8")
        flags = 0 if m.name.isascii() else _UTF8_NAME
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, flags, _DEFLATED, _DOS_TIME, _DOS_DATE,
                             m.crc, len(m.compressed), m.size, len(name), 0)
        chunks += (header, name, m.compressed)
        central.append(_CENTRAL.pack(b"PK\x01\x02", _VERSION, 3, _VERSION, 0, flags, _DEFLATED, _DOS_TIME, _DOS_DATE,
                                     m.crc, len(m.compressed), m.size, len(name), 0, 0, 0, 0, _UNIX_FILE, offset) + name)
        offset += len(header) + len(name) + len(m.compressed)
        count += 1
    directory = b"".join(central)
    if count > 0xFFFF or offset + len(directory) > 0xFFFFFFFF:
        raise ValueError("package too large for a zip without zip64")
    end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)
    return b"".join(chunks) + directory + end
