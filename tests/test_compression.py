"""Gzip of the overview and `/api/rooms`: one gzip stream joined from DEFLATE segments, read
back by the standard library and by a single-member decoder as httpx has. The app's use of
it is tested in test_dashboard.py, and the browser tests load the gzipped overview in
Chromium."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ventwatch.dashboard.compression import accepts_gzip, gzip_of, segment


@given(
    st.lists(
        st.binary(max_size=3000) | st.binary(min_size=95, max_size=100).map(lambda b: b * 700),
        max_size=6,
    ),
    st.integers(1, 9),
)
def test_joined_segments_are_one_gzip_stream_of_their_bytes(parts: list[bytes], level: int) -> None:
    """Small parts and parts past REREAD_BYTES (whose CRCs are combined, not re-read); gzip
    checks the stream's CRC-32 and length as it decompresses."""
    stream = gzip_of(*(segment(p, level) for p in parts))
    assert gzip.decompress(stream) == b"".join(parts)
    # One member, whole: a decoder that reads a single member (httpx's) gets everything.
    decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert decoder.decompress(stream) + decoder.flush() == b"".join(parts)
    assert decoder.eof
    assert decoder.unused_data == b""


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip, deflate, br, zstd", True),  # Chromium's
        ("GZIP", True),
        ("x-gzip", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0, *", False),  # named beats the wildcard
        ("br, *;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding(header: str, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok
