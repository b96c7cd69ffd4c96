"""Card readers as `transmit(apdu) -> (data, sw)`: PC/SC through pyscard (contact readers, CCID
contactless readers such as the RC-S300, and vpcd's virtual reader in tests), and nfcpy
(RC-S380 class readers; its udp device in tests), where the card answers as ISO 14443 Type 4B."""
from __future__ import annotations

import time

from evac.card.mynumber import CardError


class PcscReader:
    """One connection to the card in a PC/SC reader; `close` powers the card off."""

    def __init__(self, reader_name: str | None = None):
        try:
            from smartcard.Exceptions import CardConnectionException, NoCardException
            from smartcard.scard import SCARD_E_SHARING_VIOLATION, SCARD_SHARE_EXCLUSIVE
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
            # Exclusive: no other program on this machine (`evac card read`, say) talks to the card
            # between our reading its tries left and sending the PIN.
            self.connection.connect(mode=SCARD_SHARE_EXCLUSIVE)
        except NoCardException:
            raise CardError("no_card", "there is no card on the reader") from None
        except CardConnectionException as exc:
            if getattr(exc, "hresult", 0) & 0xFFFFFFFF == SCARD_E_SHARING_VIOLATION & 0xFFFFFFFF:
                raise CardError("busy", "another program is using the card reader; try again in a moment") from None
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
            self.connection.release()     # and the PC/SC context goes now, not at garbage collection
        except self._errors:
            pass


class NfcReader:
    """The My Number card (ISO 14443 Type B) on an nfcpy reader, waited for up to `wait` seconds."""

    def __init__(self, device: str = "usb", wait: float = 15.0):
        try:
            import nfc
            import nfc.clf
        except ImportError:
            raise CardError("no_reader", "NFC support (nfcpy) is not installed on this kiosk") from None
        try:
            self.clf = nfc.ContactlessFrontend(device)
        except (IOError, OSError) as exc:
            raise CardError("no_reader", f"no NFC reader at {device!r} ({exc})") from None
        deadline = time.monotonic() + wait
        target = None
        while target is None and time.monotonic() < deadline:
            target = self.clf.sense(nfc.clf.RemoteTarget("106B"), iterations=1, interval=0.2)
        if target is None:
            self.clf.close()
            raise CardError("no_card", "no card was held to the reader")
        try:
            self.tag = nfc.tag.activate(self.clf, target)
        except nfc.clf.CommunicationError as exc:
            self.clf.close()
            raise CardError("card_removed", f"the card could not be read; please hold it still ({exc})") from None
        if self.tag is None:
            self.clf.close()
            raise CardError("not_my_number_card", "this card is not a My Number card")
        self._errors = (nfc.clf.CommunicationError, nfc.tag.TagCommandError)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            response = self.tag.transceive(bytes(apdu))
        except self._errors as exc:
            raise ConnectionError(str(exc)) from None
        if response is None or len(response) < 2:
            raise ConnectionError("no answer from the card")
        return bytes(response[:-2]), int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        self.clf.close()  # the field goes off: the card loses power and its unlocked state


def read_felica_idm(device: str = "usb", wait: float = 15.0) -> bytes:
    """The IDm of a FeliCa card (Suica and other transport IC cards) held to an nfcpy reader."""
    try:
        import nfc
        import nfc.clf
    except ImportError:
        raise CardError("no_reader", "NFC support (nfcpy) is not installed on this kiosk") from None
    try:
        clf = nfc.ContactlessFrontend(device)
    except (IOError, OSError) as exc:
        raise CardError("no_reader", f"no NFC reader at {device!r} ({exc})") from None
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            target = clf.sense(nfc.clf.RemoteTarget("212F"), iterations=1, interval=0.2)
            if target is not None and target.sensf_res and len(target.sensf_res) >= 9:
                return bytes(target.sensf_res[1:9])
        raise CardError("no_card", "no IC card was held to the reader")
    finally:
        clf.close()
