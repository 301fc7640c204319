"""MLLP framing and ACK text: properties over random chunking and random bytes."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from medmine.ingest.hl7v2._ack import build_ack, escape, parse_ack, read_header
from medmine.ingest.hl7v2._mllp import HEAD_BYTES, frame, read_frames

payload = st.binary(max_size=300).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))


async def _read(data: bytes, cuts: list[int], limit: int):
    reader = asyncio.StreamReader()
    pos = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        reader.feed_data(data[pos:cut])
        pos = max(pos, cut)
    reader.feed_data(data[pos:])
    reader.feed_eof()
    return [f async for f in read_frames(reader, limit)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(payload, max_size=5),
    st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
    st.binary(max_size=20).map(lambda b: b.replace(b"\x0b", b"")),
)
def test_frames_survive_any_chunking_and_noise_between_them(messages, cuts, noise):
    data = noise + b"".join(frame(m) + noise for m in messages)
    got = asyncio.run(_read(data, cuts, limit=1 << 20))
    assert [f.data for f in got] == messages
    assert not any(f.oversize for f in got)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.lists(st.integers(0, 9000), max_size=6))
def test_frames_over_the_limit_keep_only_their_head(size, cuts):
    big = b"MSH|^~\\&|" + b"x" * size
    data = frame(big) + frame(b"MSH|small")
    got = asyncio.run(_read(data, cuts, limit=1024))
    assert got[-1].data == b"MSH|small" and not got[-1].oversize
    first = got[0]
    assert first.size == len(big)
    assert first.oversize == (len(big) > 1024)
    assert first.data == (big[:HEAD_BYTES] if first.oversize else big)


def test_a_frame_cut_by_the_peer_is_dropped():
    got = asyncio.run(_read(frame(b"MSH|a") + b"\x0bMSH|b half", [], limit=1024))
    assert [f.data for f in got] == [b"MSH|a"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.text(max_size=40))
def test_acks_never_fail_on_any_input(data, text):
    header = read_header(data)
    ack = build_ack(header, "AE", text, "invalid_value")
    parsed = parse_ack(ack)
    assert parsed.code == "AE"
    assert "\r" not in escape(text, header) and "\n" not in escape(text, header)


def test_escape_uses_the_message_delimiters():
    h = read_header("MSH*:~\\&*A")
    assert escape("a*b:c~d\\e&f", h) == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
