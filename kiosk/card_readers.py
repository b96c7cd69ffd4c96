"""Card readers as `transmit(apdu) -> (data, sw)`: PC/SC through pyscard (contact readers, CCID
contactless readers such as the RC-S300, and vpcd's virtual reader in tests)."""
from __future__ import annotations

from evac.card.mynumber import CardError


class PcscReader:
    """One connection to the card in a PC/SC reader; `close` powers the card off."""

    def __init__(self, reader_name: str | None = None):
        try:
            from smartcard.Exceptions import CardConnectionException, NoCardException
            from smartcard.System import readers
        except ImportError:
            raise CardError("no_reader", "PC/SC support (pyscard) is not installed on this kiosk") from None
        self._errors = (CardConnectionException,)
        try:
            available = readers()
        except Exception as exc:  # pcscd not running: pyscard raises its own error types
            raise CardError("no_reader", f"the card reader service is not running ({exc})") from None
        if reader_name:
            available = [r for r in available if str(r).startswith(reader_name)]
        if not available:
            raise CardError("no_reader", "no card reader is connected" +
                            (f" with a name starting {reader_name!r}" if reader_name else ""))
        self.connection = available[0].createConnection()
        try:
            self.connection.connect()
        except NoCardException:
            raise CardError("no_card", "there is no card on the reader") from None
        except CardConnectionException as exc:
            raise CardError("no_card", f"the card could not be read ({exc})") from None

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            data, sw1, sw2 = self.connection.transmit(list(apdu))
        except self._errors as exc:
            raise ConnectionError(str(exc)) from None
        return bytes(data), (sw1 << 8) | sw2

    def close(self) -> None:
        try:
            self.connection.disconnect()  # pyscard's default disposition powers the card off
        except self._errors:
            pass
