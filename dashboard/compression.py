"""Gzip for the dashboard's two big answers, the overview page and `/api/rooms`: for a
thousand rooms, hundreds of KiB that compress many times over (bench/dashboard.py prints the
page's size), on school Wi-Fi and phones.

Both are made once a second for everyone (`rooms.NowCache`), so they are compressed once a
second too, not per request. The overview adds a frame of its own per user (who is signed
in, the session's form token) around the shared tiles; compressing the whole page per request
would cost more than the rest of the request. Instead the page is sent as one gzip stream
joined from DEFLATE segments: the frame's head and tail compressed per request (a few KiB),
the tiles' segment compressed once. A segment that ends with a sync flush ends on a byte
boundary with no final block and refers to nothing before itself, so segments can be joined
one after another and closed with an empty final block (pigz compresses in parallel the same
way). The stream's CRC-32 is combined from the parts' own (as zlib's `crc32_combine`), so
the tiles are never read again per request.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cached_property

LEVEL = 6
# On every answer that may be compressed, so that a cache keeps the two versions apart.
VARY = {"vary": "Accept-Encoding"}
# gzip header: magic, DEFLATE, no flags, no time, no extra flags, "unknown" OS (RFC 1952).
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# An empty final block with fixed codes: what a compressor's Z_FINISH writes with nothing left.
_LAST_BLOCK = b"\x03\x00"


# CRC-32's polynomial, bit-reversed as zlib and gzip use it.
_POLY = 0xEDB88320


def _multiply(a: int, b: int) -> int:
    """a * b modulo the CRC polynomial, both bit-reversed (zlib's `multmodp`)."""
    product = 0
    m = 1 << 31
    while m:
        if a & m:
            product ^= b
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
        m >>= 1
    return product


def _shift_by(length: int) -> int:
    """x^(8 * length) modulo the polynomial: what appending `length` bytes does to a CRC
    (zlib's `x2nmodp(length, 3)`), by squaring."""
    result, power = 1 << 31, 1 << 31 >> 8  # x^0, x^8
    while length:
        if length & 1:
            result = _multiply(power, result)
        power = _multiply(power, power)
        length >>= 1
    return result


# Up to this many bytes, a part's CRC is worked out by reading it again: faster than the
# combination, whose cost in Python is the same whatever the length (the figures:
# docs/development.md#benchmarks).
REREAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Segment:
    """Bytes with their DEFLATE segment and CRC-32, ready to be joined by `gzip_of`."""

    raw: bytes
    deflated: bytes
    crc: int

    @cached_property
    def shift(self) -> int:
        """`_shift_by(len(raw))`: worked out once, on first use, for a big shared part."""
        return _shift_by(len(self.raw))


def segment(raw: bytes, level: int = LEVEL) -> Segment:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return Segment(raw, deflated, zlib.crc32(raw))


def gzip_of(*parts: Segment) -> bytes:
    """One gzip stream whose content is the parts' bytes, in order."""
    crc, size = 0, 0
    for part in parts:
        if len(part.raw) <= REREAD_BYTES:
            crc = zlib.crc32(part.raw, crc)
        else:
            crc = _multiply(part.shift, crc) ^ part.crc  # zlib's crc32_combine
        size += len(part.raw)
    body = b"".join(part.deflated for part in parts)
    return _HEADER + body + _LAST_BLOCK + struct.pack("<II", crc, size & 0xFFFFFFFF)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (RFC 9110 12.5.3): named with a
    quality above 0, or not named and admitted by `*`."""
    qualities = {}
    for item in accept_encoding.split(","):
        name, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name:
            qualities[name.lower()] = quality
    found = qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0)))
    return found > 0
