"""The card-reading logic against the software card, in-process (transports come with their own tests)."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evac.card.applet import CardIdentity, MyNumberApplet, basic4_file
from evac.card.ber import TLVError, encode, parse
from evac.card.mynumber import (
    CardError, CardRemoved, NumberSafeTransmit, code_b, era_yymmdd, parse_basic4, read_basic4,
)

NUMBER = "123456789018"
# An address long enough to need a two-byte BER length, and a name outside the BMP (𠮷).
LONG_ADDRESS = "静岡県焼津市本町五丁目九番一号　焼津ハイツ" + "東" * 60
IDENTITY = CardIdentity(name="𠮷田 花子", address=LONG_ADDRESS, birth="19800217", sex="2", my_number=NUMBER,
                        pin="4321", code_b="55021720301234")


def card(**kw) -> MyNumberApplet:
    return MyNumberApplet(CardIdentity(**{**IDENTITY.__dict__, **kw.pop("identity", {})}), **kw)


def transmit_of(applet: MyNumberApplet):
    def transmit(apdu: bytes):
        response = applet.process(apdu)
        return response[:-2], int.from_bytes(response[-2:], "big")
    return transmit


def test_reads_the_four_basic_items_with_the_pin():
    applet = card()
    info = read_basic4(transmit_of(applet), pin="4321")
    assert info.to_json() == {"name": "𠮷田 花子", "address": LONG_ADDRESS, "birth_date": "1980-02-17",
                              "sex": "female"}
    assert 0x0001 not in applet.selected and 0x0014 not in applet.selected
    assert len(LONG_ADDRESS.encode()) > 0x7F  # the two-byte length was exercised


def test_reads_with_code_b_for_those_who_forgot_the_pin():
    born = dt.date(1980, 2, 17)
    assert era_yymmdd(born) == "550217"  # 昭和55年
    info = read_basic4(transmit_of(card()), code_b=code_b(born, 2030, "1234"))
    assert info.birth_date == "1980-02-17"


def test_wrong_pin_says_how_many_tries_are_left():
    applet = card()
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(applet), pin="0000")
    assert exc.value.code == "wrong_secret" and exc.value.tries_left == 2


def test_the_last_try_is_never_spent():
    applet = card(pin_tries=1)
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(applet), pin="4321")
    assert exc.value.code == "last_try" and applet.pin_tries == 1  # not even the right PIN was sent


@pytest.mark.parametrize("status", [0x6700, 0x9000, 0x6A82])
def test_no_try_is_spent_when_the_card_does_not_say_how_many_are_left(status):
    """A card (or reader driver) that answers the counting VERIFY with anything but 63Cx or 6983/6984:
    the secret is never sent, whatever it is, so a wrong one cannot be the last."""
    applet = card(pin_tries=1)
    inner = transmit_of(applet)

    def quiet_about_the_count(apdu: bytes):
        if apdu == bytes([0x00, 0x20, 0x00, 0x80]):
            return b"", status
        return inner(apdu)
    with pytest.raises(CardError) as refused:
        read_basic4(quiet_about_the_count, pin="0000")
    assert refused.value.code == "card_error" and "not trying" in refused.value.message
    assert applet.pin_tries == 1


def test_a_locked_card_is_reported():
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(card(pin_tries=0)), pin="4321")
    assert exc.value.code == "locked"


def test_not_a_my_number_card():
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(card(is_my_number_card=False)), pin="4321")
    assert exc.value.code == "not_my_number_card"


def test_corrupt_data_is_reported_and_nothing_returned():
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(card(corrupt_basic4=True)), pin="4321")
    assert exc.value.code == "corrupt"


def test_a_card_pulled_away_mid_read():
    applet, calls = card(), []

    def flaky(apdu):
        calls.append(apdu)
        if apdu[1] == 0xB0 and len(calls) > 6:
            raise ConnectionError("card removed")
        return transmit_of(applet)(apdu)
    with pytest.raises(CardRemoved):
        read_basic4(flaky, pin="4321")


def test_the_individual_number_can_never_be_selected():
    from evac.card.mynumber import RefusedAPDU
    guarded = NumberSafeTransmit(transmit_of(card()))
    guarded(bytes.fromhex("00A4040C0AD3921000310001010408"))
    for ef in ("0001", "0014"):
        with pytest.raises(RefusedAPDU):
            guarded(bytes.fromhex("00A4020C02" + ef))


def test_pin_and_code_b_formats_are_checked_before_the_card_is_touched():
    applet = card()
    for kwargs in ({"pin": "12345"}, {"pin": "abcd"}, {"code_b": "123"}):
        with pytest.raises(CardError) as exc:
            read_basic4(transmit_of(applet), **kwargs)
        assert exc.value.code == "bad_input"
    assert applet.pin_tries == 3 and applet.selected == []


def test_power_off_ends_the_unlocked_state():
    applet = card()
    read_basic4(transmit_of(applet), pin="4321")
    applet.power_off()
    applet.process(bytes.fromhex("00A4040C0AD3921000310001010408"))
    applet.process(bytes.fromhex("00A4020C020002"))
    assert applet.process(bytes.fromhex("00B0000008"))[-2:] == b"\x69\x82"


@pytest.mark.parametrize("size", [0, 5, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000])
def test_ber_lengths_of_one_two_three_and_four_bytes(size):
    value = b"x" * size
    (tlv,) = parse(encode(0xDF23, value) + b"\xff" * 10)
    assert tlv.tag == 0xDF23 and tlv.value == value


@pytest.mark.parametrize("data, message", [
    (b"\xdf\x22\x05abc", "says 5 bytes"),
    (b"\xdf\x22\x80abc", "indefinite"),
    (b"\xdf\x22\x85\x00\x00\x00\x00\x01a", "more than a card file"),
    (b"\xdf", "ends inside a tag"),
])
def test_ber_errors_are_named(data, message):
    with pytest.raises(TLVError, match=message):
        parse(data)


@given(st.text(min_size=1, max_size=300).filter(lambda s: s.strip() == s and s), st.integers(0, 100))
def test_basic4_parses_whatever_text_and_filler(name, filler):
    ident = CardIdentity(name=name, address="焼津市", birth="20000101", sex="9", my_number=NUMBER, filler=filler)
    assert parse_basic4(basic4_file(ident)).name == name


@pytest.mark.parametrize("apdu", [
    "00A4000C020001",      # SELECT EF 0001 by file id with P1=00
    "00A4080C020001",      # SELECT by path
    "00A4020C020001",      # SELECT EF 0001
    "00A4020C020014",      # SELECT EF 0014 (照合番号A)
    "00B0810000",          # READ BINARY by short file id 1
    "00B1000000",          # odd-INS READ BINARY
    "00A4040C0AD3921000310001010401",  # another application (個人番号 AP)
    "0020001404",          # VERIFY 照合番号A
    "80CA000000",          # anything proprietary
    "00A40400",            # SELECT by name with no length: a header only (was an IndexError, not a refusal)
    "00A4040C",
    "00A40200",            # SELECT by file id with no length
])
def test_the_guard_lets_nothing_else_reach_the_card(apdu):
    from evac.card.mynumber import NumberSafeTransmit
    sent = []
    guard = NumberSafeTransmit(lambda a: sent.append(a) or (b"", 0x9000))
    with pytest.raises(Exception) as refused:
        guard(bytes.fromhex(apdu))
    assert sent == []
    # Not an OSError: the readers' "card pulled away" handling (OSError, ConnectionError) must never
    # swallow a guard hit and tell the evacuee to hold the card still.
    assert type(refused.value).__name__ == "RefusedAPDU" and not isinstance(refused.value, OSError)


# --- review fixes: input a Japanese IME types, status words, malformed and hostile card data -------

def _counting(applet: MyNumberApplet):
    """transmit_of(applet), keeping every APDU sent."""
    sent, inner = [], transmit_of(applet)

    def transmit(apdu: bytes):
        sent.append(bytes(apdu))
        return inner(apdu)
    return transmit, sent


def test_full_width_digits_are_the_same_pin_and_code_b():
    """What a Japanese IME types (全角 ４３２１) is the evacuee's PIN, not a crash."""
    applet = card()
    assert read_basic4(transmit_of(applet), pin="４３２１").birth_date == "1980-02-17"
    assert read_basic4(transmit_of(applet), code_b="５５０２１７２０３０１２３４").birth_date == "1980-02-17"
    assert applet.pin_tries == 3 and applet.code_b_tries == 10


@pytest.mark.parametrize("secret", [{"pin": "٤٣٢١"}, {"pin": "४३२१"}, {"pin": "43２"}, {"pin": "4321 "},
                                    {"code_b": "٥٥٠٢١٧٢٠٣٠١٢٣٤"}])
def test_other_digits_are_refused_before_the_card_is_touched(secret):
    """Arabic-Indic or Devanagari digits pass `\\d`, but no card holds them: refused before any APDU,
    so a malformed PIN never spends a try (and never crashes the read)."""
    applet = card()
    transmit, sent = _counting(applet)
    with pytest.raises(CardError) as refused:
        read_basic4(transmit, **secret)
    assert refused.value.code == "bad_input"
    assert sent == [] and applet.pin_tries == 3 and applet.code_b_tries == 10


def test_a_wrong_pin_the_card_does_not_count_is_a_wrong_pin_sent_once():
    """SW 6300 (verification failed, no count) after the PIN: the evacuee is told the PIN is wrong,
    tries unknown; the PIN is sent once only, and the next read counts the tries again first."""
    applet = card()
    inner = transmit_of(applet)
    sent = []

    def uncounting(apdu: bytes):
        sent.append(bytes(apdu))
        data, sw = inner(apdu)
        if apdu[1] == 0x20 and len(apdu) > 4 and sw & 0xFFF0 == 0x63C0:
            sw = 0x6300
        return data, sw
    with pytest.raises(CardError) as wrong:
        read_basic4(uncounting, pin="0000")
    assert wrong.value.code == "wrong_secret" and wrong.value.tries_left is None
    assert "not right" in wrong.value.message
    assert [a for a in sent if a[1] == 0x20 and len(a) > 4] == [bytes.fromhex("002000800430303030")]
    assert applet.pin_tries == 2
    assert read_basic4(uncounting, pin="4321").name == "𠮷田 花子"


def _nested(depth: int) -> bytes:
    """FF20 { 30 { 30 { … } } }: TLVs nested `depth` deep, each as short as BER allows."""
    inner = b""
    for _ in range(depth):
        inner = encode(0x30, inner)
    return encode(0xFF20, inner)


def test_deeply_nested_card_data_is_corrupt_not_a_crash():
    data = _nested(1040)
    assert len(data) <= 4096  # small enough to be read whole: the parser must cope
    applet = card()
    applet.basic4 = data
    with pytest.raises(CardError) as refused:
        read_basic4(transmit_of(applet), pin="4321")
    assert refused.value.code == "corrupt"
    with pytest.raises(TLVError, match="nested"):
        parse(data)


@pytest.mark.parametrize("padding", [5000, 0x20000])
def test_a_basic4_file_larger_than_it_can_be_is_corrupt_and_not_read(padding):
    """A header declaring kilobytes or megabytes: one READ BINARY, then 'corrupt' -- not hundreds of
    reads while the kiosk's only reader is held (nor, past offset 7FFF, a guard hit called a moved card)."""
    fields = b"".join(encode(tag, value) for tag, value in (
        (0xDF22, "焼津 花子".encode()), (0xDF23, "焼津市".encode()), (0xDF24, b"19800217"), (0xDF25, b"2"),
        (0xDF26, b"\x00" * padding)))
    applet = card()
    applet.basic4 = encode(0xFF20, fields)
    transmit, sent = _counting(applet)
    with pytest.raises(CardError) as refused:
        read_basic4(transmit, pin="4321")
    assert refused.value.code == "corrupt"
    assert sum(1 for a in sent if a[1] == 0xB0) == 1


def test_a_three_byte_tag_anywhere_in_the_data_is_read():
    # the tag's own length is what counts, not where in the data it stands (a tag after offset 1 was refused)
    data = encode(0xDF21, b"\x00" * 8) + encode(0x5F8101, b"ok")
    assert [(t.tag, t.value) for t in parse(data)] == [(0xDF21, b"\x00" * 8), (0x5F8101, b"ok")]
    (outer,) = parse(encode(0xFF20, encode(0xDF22, b"a") + encode(0x5F8101, b"b")))
    assert outer.find(0x5F8101).value == b"b"
    with pytest.raises(TLVError, match="longer than three bytes"):
        parse(encode(0xDF21, b"x") + bytes.fromhex("5F818101") + b"\x01b")
    with pytest.raises(TLVError, match="longer than three bytes"):
        parse(bytes.fromhex("5F818101") + b"\x01b")


@pytest.mark.parametrize("secret", [
    "55133020301234",   # month 13
    "55023020301234",   # 30 February
    "55043120301234",   # 31 April
    "55020020301234",   # day 0
    "55021719991234",   # expiry year before the first cards
    "55021799991234",   # expiry year no card has
    "20301234550217",   # the parts in the wrong order
])
def test_a_code_b_that_cannot_be_one_costs_no_try(secret):
    applet = card()
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(applet), code_b=secret)
    assert exc.value.code == "bad_code_b"
    assert applet.code_b_tries == 10 and applet.selected == []


def test_a_code_b_of_the_right_shape_is_tried():
    applet = card()
    assert read_basic4(transmit_of(applet), code_b="55021720301234").birth_date == "1980-02-17"
    with pytest.raises(CardError) as exc:   # 29 February: the era year's leap is not known here
        read_basic4(transmit_of(applet), code_b="01022920301234")
    assert exc.value.code == "wrong_secret" and applet.code_b_tries == 9


@pytest.mark.parametrize("born", ["900615", "000615", "650615", "990615"])
def test_a_foreign_residents_code_b_with_the_western_year_is_tried(born):
    """A foreign resident's card prints the birth date by the Western year (its last two digits): 1990,
    2000, 1965, 1999 were refused as "not a 照合番号B", as if every year were an era year of 1 to 64."""
    applet = card()
    with pytest.raises(CardError) as exc:
        read_basic4(transmit_of(applet), code_b=born + "20314821")
    assert exc.value.code == "wrong_secret" and applet.code_b_tries == 9
