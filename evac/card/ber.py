"""A BER-TLV parser for what smart cards return.

Cards hand back whole files: the data may be followed by filler (00 or FF)
up to the file's size, lengths come in one, two or three bytes, and a broken
card or a card pulled away mid-read leaves a truncated structure.  Nothing
here trusts a fixed offset.
"""
from __future__ import annotations

from dataclasses import dataclass


class TLVError(ValueError):
    """The bytes are not well-formed BER-TLV."""


# A card file nests two or three levels; a broken or hostile card could nest thousands and
# exhaust Python's stack, so deeper than this is malformed.
MAX_DEPTH = 16


@dataclass(frozen=True)
class TLV:
    tag: int
    value: bytes
    children: tuple["TLV", ...] = ()

    @property
    def constructed(self) -> bool:
        first = self.tag.to_bytes((self.tag.bit_length() + 7) // 8 or 1, "big")[0]
        return bool(first & 0x20)

    def find(self, tag: int) -> "TLV | None":
        return next((c for c in self.children if c.tag == tag), None)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    first = data[pos]
    tag, pos = first, pos + 1
    if first & 0x1F == 0x1F:  # tag number continues in the following bytes
        while True:
            if pos >= len(data):
                raise TLVError("the data ends inside a tag")
            b = data[pos]
            tag, pos = (tag << 8) | b, pos + 1
            if not b & 0x80:
                break
            if pos - start >= 3:   # the tag's own length, wherever in the data it stands
                raise TLVError("tag longer than three bytes")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TLVError("the data ends before a length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise TLVError("indefinite lengths are not allowed here")
    if count > 3:
        raise TLVError(f"a {count}-byte length is more than a card file can hold")
    if pos + count > len(data):
        raise TLVError("the data ends inside a length")
    return int.from_bytes(data[pos:pos + count], "big"), pos + count


def header_size(data: bytes) -> tuple[int, int]:
    """(size of tag and length, size of value) of the first TLV in `data`."""
    tag_end = _read_tag(data, 0)[1]
    length, value_start = _read_length(data, tag_end)
    return value_start, length


def parse(data: bytes, _depth: int = 0) -> list[TLV]:
    """Parse a sequence of TLVs; trailing filler (00 or FF bytes) ends it."""
    if _depth > MAX_DEPTH:
        raise TLVError(f"TLVs nested more than {MAX_DEPTH} deep")
    items: list[TLV] = []
    pos = 0
    while pos < len(data):
        if all(b in (0x00, 0xFF) for b in data[pos:]):
            break
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if pos + length > len(data):
            raise TLVError(f"tag {tag:X} says {length} bytes but only {len(data) - pos} follow")
        value = bytes(data[pos:pos + length])
        pos += length
        first = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")[0]
        children = tuple(parse(value, _depth + 1)) if first & 0x20 else ()
        items.append(TLV(tag, value, children))
    return items


def encode(tag: int, value: bytes) -> bytes:
    """One TLV with the shortest definite length (used by the emulated card)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        size = (n.bit_length() + 7) // 8
        if size > 3:
            raise TLVError("value too long")
        length = bytes([0x80 | size]) + n.to_bytes(size, "big")
    return tag_bytes + length + value
