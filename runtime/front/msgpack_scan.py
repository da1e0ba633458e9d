"""Where the first large array payload sits in the start of a msgpack request body.

The front reads a msgpack body into a slab block and hands each large `bin` value to the
worker where it lies. Knowing the first array payload's offset from the first bytes that
arrive lets the body be placed so that this payload starts on a 64-byte boundary (a
`.npy` header is padded so that its data then is aligned too). The scan is a hint: on
anything truncated, malformed or unexpected it answers None, and the real decoder later
reports what is wrong.
"""

from __future__ import annotations

from collections.abc import Container

_MAP, _ARRAY, _STR, _BIN, _OTHER = range(5)

# first byte -> (kind, bytes of length field, fixed payload size)
_SIZED: dict[int, tuple[int, int, int]] = {
    0xC0: (_OTHER, 0, 0),  # nil
    0xC2: (_OTHER, 0, 0),  # false
    0xC3: (_OTHER, 0, 0),  # true
    0xC4: (_BIN, 1, 0),
    0xC5: (_BIN, 2, 0),
    0xC6: (_BIN, 4, 0),
    0xC7: (_OTHER, 1, 1),  # ext 8: length, then a type byte
    0xC8: (_OTHER, 2, 1),
    0xC9: (_OTHER, 4, 1),
    0xCA: (_OTHER, 0, 4),  # float 32
    0xCB: (_OTHER, 0, 8),
    0xCC: (_OTHER, 0, 1),  # uint 8..64
    0xCD: (_OTHER, 0, 2),
    0xCE: (_OTHER, 0, 4),
    0xCF: (_OTHER, 0, 8),
    0xD0: (_OTHER, 0, 1),  # int 8..64
    0xD1: (_OTHER, 0, 2),
    0xD2: (_OTHER, 0, 4),
    0xD3: (_OTHER, 0, 8),
    0xD4: (_OTHER, 0, 2),  # fixext 1..16: a type byte and the data
    0xD5: (_OTHER, 0, 3),
    0xD6: (_OTHER, 0, 5),
    0xD7: (_OTHER, 0, 9),
    0xD8: (_OTHER, 0, 17),
    0xD9: (_STR, 1, 0),
    0xDA: (_STR, 2, 0),
    0xDB: (_STR, 4, 0),
    0xDC: (_ARRAY, 2, 0),
    0xDD: (_ARRAY, 4, 0),
    0xDE: (_MAP, 2, 0),
    0xDF: (_MAP, 4, 0),
}


class _Stop(Exception):
    """The prefix ends, or holds something that is not msgpack, before the answer."""


def first_large_bin(
    data: bytes | bytearray | memoryview, threshold: int, names: Container[str] | None = None
) -> int | None:
    """The offset in `data` of the payload of the first `bin` value of at least
    `threshold` bytes in the top-level map's `input` map (only under a key in `names`,
    when given); None when `data` ends first, is not such a body, or is malformed.

    Values before it (of any type, nested too, smaller `bin`s included) are skipped. The
    payload itself need not be inside `data`: its header is enough. Never raises.
    """
    try:
        return _scan(memoryview(data).cast("B"), threshold, names)
    except (_Stop, TypeError, ValueError):
        return None


def _scan(data: memoryview, threshold: int, names: Container[str] | None) -> int | None:
    pos, kind, count = _item(data, 0)
    if kind != _MAP:
        return None
    for _ in range(count):
        pos, key = _key(data, pos)
        if key != "input":
            pos = _skip(data, pos)
            continue
        pos, kind, inputs = _item(data, pos)
        if kind != _MAP:
            return None
        for _ in range(inputs):
            pos, name = _key(data, pos)
            start, kind, size = _item(data, pos)
            if kind == _BIN and size >= threshold and (names is None or name in names):
                return start
            pos = _skip(data, pos)
        return None
    return None


def _key(data: memoryview, pos: int) -> tuple[int, str]:
    """A map key that is a string (a request envelope has no other kind)."""
    pos, kind, size = _item(data, pos)
    if kind != _STR or pos + size > len(data):
        raise _Stop
    return pos + size, bytes(data[pos : pos + size]).decode()


def _skip(data: memoryview, pos: int) -> int:
    """The offset after the value at `pos`, containers walked without recursion."""
    remaining = 1
    while remaining:
        remaining -= 1
        pos, kind, n = _item(data, pos)
        if kind == _MAP:
            remaining += 2 * n
        elif kind == _ARRAY:
            remaining += n
        else:
            pos += n
            if pos > len(data):
                raise _Stop
    return pos


def _item(data: memoryview, pos: int) -> tuple[int, int, int]:
    """(offset after the header, kind, count or payload size) of the value at `pos`."""
    if pos >= len(data):
        raise _Stop
    first = data[pos]
    if first <= 0x7F or first >= 0xE0:
        return pos + 1, _OTHER, 0
    if first <= 0x8F:
        return pos + 1, _MAP, first & 0x0F
    if first <= 0x9F:
        return pos + 1, _ARRAY, first & 0x0F
    if first <= 0xBF:
        return pos + 1, _STR, first & 0x1F
    sized = _SIZED.get(first)
    if sized is None:  # 0xC1: never used
        raise _Stop
    kind, width, fixed = sized
    end = pos + 1 + width
    if end > len(data):
        raise _Stop
    size = int.from_bytes(data[pos + 1 : end], "big") if width else 0
    return end, kind, size + fixed
