"""A damaged card that answers each READ BINARY with less than asked: the read ends as a card that could not be
understood after about as many READs as the file's length needs, not after one a byte (thousands of APDUs holding
the reader for tens of seconds over NFC).  The software card of evac/card/applet.py, made to answer short."""
from __future__ import annotations

import pytest

from evac.card.applet import CardIdentity, MyNumberApplet, basic4_file
from evac.card.ber import header_size
from evac.card.mynumber import MAX_BASIC4_BYTES, CardError, read_basic4

IDENTITY = CardIdentity("山田 太郎", "静岡県焼津市本町1-1", "19800101", "1", "123456789018", pin="1234")
HEAD_READ = 8   # the first READ BINARY asks for the TLV's header
CHUNK = 0xF0    # what each further READ asks for, at most


class ShortAnswers(MyNumberApplet):
    """Gives `short` bytes (at most) to every READ BINARY after the first."""

    def __init__(self, *args, short: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.short, self.reads = short, 0

    def _read(self, offset: int, le: int) -> bytes:
        self.reads += 1
        answer = super()._read(offset, le)
        if self.reads == 1 or answer[-2:] != b"\x90\x00":
            return answer
        return answer[:-2][:self.short] + answer[-2:]


def _transmit(applet):
    def transmit(apdu: bytes) -> tuple[bytes, int]:
        answer = applet.process(apdu)
        return answer[:-2], int.from_bytes(answer[-2:], "big")
    return transmit


def _claiming(total: int) -> bytes:
    """EF 0002 whose FF20 header claims `total` bytes in all, and holds them (filler after the real items)."""
    real = basic4_file(CardIdentity(**{**IDENTITY.__dict__, "filler": 0}))
    header, _ = header_size(real)
    return (b"\xff\x20\x82" + (total - 5).to_bytes(2, "big") + real[header:]).ljust(total, b"\xff")


@pytest.mark.parametrize("total,short", [(MAX_BASIC4_BYTES - 128, 1), (MAX_BASIC4_BYTES, 1), (2000, 7)])
def test_short_answers_end_the_read_as_corrupt_after_a_few_reads(total, short):
    applet = ShortAnswers(IDENTITY, basic4=_claiming(total), short=short)
    with pytest.raises(CardError) as failed:
        read_basic4(_transmit(applet), pin="1234")
    assert failed.value.code == "corrupt"
    assert applet.reads <= 1 + total // CHUNK + 2, applet.reads
    assert applet.pin_tries == 3


def test_answers_a_little_short_are_still_read_in_as_many_reads():
    """A card one byte short of each part asked still gives the whole file within the READs allowed."""
    applet = ShortAnswers(IDENTITY, basic4=_claiming(1000), short=CHUNK - 1)
    assert read_basic4(_transmit(applet), pin="1234").name == "山田 太郎"
    assert applet.reads <= 1 + 1000 // CHUNK + 2


def test_a_card_that_answers_in_full_is_read():
    applet = ShortAnswers(IDENTITY, short=CHUNK)
    assert read_basic4(_transmit(applet), pin="1234").name == "山田 太郎"
    big = ShortAnswers(CardIdentity(**{**IDENTITY.__dict__, "address": "焼津市" + "一" * 600}), short=CHUNK)
    assert read_basic4(_transmit(big), pin="1234").address.endswith("一" * 600)
    assert big.reads == 1 + -(-(len(basic4_file(big.identity)) - 64 - HEAD_READ) // CHUNK)
