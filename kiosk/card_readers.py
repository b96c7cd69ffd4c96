"""Card readers as `transmit(apdu) -> (data, sw)`: PC/SC through pyscard (contact readers, CCID
contactless readers such as the RC-S300, and vpcd's virtual reader in tests), and nfcpy
(RC-S380 class readers; its udp device in tests), where the card answers as ISO 14443 Type 4B."""
from __future__ import annotations

import logging
import time

from evac.card.mynumber import CardError


class PcscReader:
    """One connection to the card in a PC/SC reader; `close` powers the card off."""

    def __init__(self, reader_name: str | None = None):
        try:
            from smartcard.Exceptions import CardConnectionException
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
        self.connection = self._connect_to_the_card(available)
        self.insertion = self._insertion(str(self.connection.getReader()))

    @staticmethod
    def _insertion(reader: str) -> tuple[str, int] | None:
        """Which placing of a card on `reader` this is: pcsc-lite counts the card events of each reader
        in the upper 16 bits of its state, so a card taken away and put back (or another put on) has
        another count, and a card that never left the reader keeps it.  None when pcscd does not say."""
        from smartcard import scard
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            return None
        try:
            hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
            if hresult != scard.SCARD_S_SUCCESS or not states:
                return None
            return reader, states[0][1] >> 16
        finally:
            scard.SCardReleaseContext(context)

    def _connect_to_the_card(self, available):
        """The connection to the one reader holding a card: the tap watcher wakes the screen for a card
        on any reader, so the card is looked for on each, not only the first."""
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.scard import SCARD_E_SHARING_VIOLATION, SCARD_SHARE_EXCLUSIVE
        holding, busy, failed = [], False, None
        for reader in available:
            connection = reader.createConnection()
            try:
                # Exclusive: no other program on this machine (`evac card read`, say) talks to the card
                # between our reading its tries left and sending the PIN.
                connection.connect(mode=SCARD_SHARE_EXCLUSIVE)
            except (NoCardException, CardConnectionException) as exc:
                if isinstance(exc, NoCardException):
                    pass
                elif getattr(exc, "hresult", 0) & 0xFFFFFFFF == SCARD_E_SHARING_VIOLATION & 0xFFFFFFFF:
                    busy = True
                else:
                    failed = exc
                self._release(connection)
                continue
            holding.append(connection)
        if len(holding) > 1 or (holding and (busy or failed is not None)):
            # Which card is the evacuee's?  A PIN sent to the wrong one would spend a try of a stranger's
            # card; a reader another program holds, or a card we could not open, may be theirs too.
            for connection in holding:
                self._release(connection)
            if busy:
                raise CardError("busy", "another program is using a card reader; try again in a moment")
            raise CardError("two_cards", "there are cards on more than one reader; take away all but "
                                         "your own card and try again")
        if holding:
            return holding[0]
        if busy:
            raise CardError("busy", "another program is using the card reader; try again in a moment")
        if failed is not None:
            raise CardError("no_card", f"the card could not be read ({failed})")
        raise CardError("no_card", "there is no card on the reader")

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        try:
            data, sw1, sw2 = self.connection.transmit(list(apdu))
        except self._errors as exc:
            raise ConnectionError(str(exc)) from None
        return bytes(data), (sw1 << 8) | sw2

    def _release(self, connection) -> None:
        for step in (connection.disconnect,  # pyscard's default disposition powers the card off
                     connection.release):    # and the PC/SC context goes now, not at garbage collection
            try:
                step()
            except self._errors:
                pass

    def close(self) -> None:
        self._release(self.connection)


def _nfc_reader_failed(device: str, exc: Exception, what: str) -> CardError:
    """A reader unplugged or reset mid-wait (OSError, ENODEV), or one that cannot read `what`
    (nfcpy's UnsupportedTargetError): the kiosk's reader is not usable, whoever holds a card to it."""
    import nfc.clf
    if isinstance(exc, nfc.clf.UnsupportedTargetError):
        return CardError("no_reader", f"this NFC reader ({device}) cannot read {what}; "
                                      "scan a QR code or ask staff")
    return CardError("no_reader", f"the NFC reader at {device!r} stopped working ({exc}); "
                                  "check that it is plugged in, or scan a QR code or ask staff")


def _no_frames_in_the_log() -> None:
    """nfcpy logs every frame in hex at DEBUG and below (nfc.tag.tt4's APDUs, nfc.clf's exchanges, its drivers'
    and transports' raw frames): VERIFY's carries the evacuee's PIN.  So nfcpy's loggers are held at INFO (as
    nfcpy sets "nfc" when imported) whatever someone set them to, to look into a reader say; those made later
    (a driver imported as a reader opens) have no level of their own and take it from these."""
    names = [name for name in list(logging.Logger.manager.loggerDict) if name.startswith("nfc.")]
    for name in ("nfc", *names):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:   # NOTSET too: it would take a level a parent was given
            logger.setLevel(logging.INFO)


# Placings of a card on each NFC reader (device): a new one each time a read found the field empty before a
# card came.  An NFC reader has no watcher telling when a card lies on it (PC/SC's tap.py): a card left on it
# after its read is found at once by the next read, the same placing (checkin.not_left_behind refuses it),
# and the next person's PIN would spend its tries.
_nfc_placings: dict[str, int] = {}


class NfcReader:
    """The My Number card (ISO 14443 Type B) on an nfcpy reader, waited for up to `wait` seconds.
    `insertion`: (device, placing), as PcscReader's."""

    def __init__(self, device: str = "usb", wait: float = 15.0, cancelled=None):
        try:
            import nfc
            import nfc.clf
        except ImportError:
            raise CardError("no_reader", "NFC support (nfcpy) is not installed on this kiosk") from None
        _no_frames_in_the_log()
        try:
            self.clf = nfc.ContactlessFrontend(device)
        except (IOError, OSError) as exc:
            raise CardError("no_reader", f"no NFC reader at {device!r} ({exc})") from None
        self._errors = (nfc.clf.CommunicationError, nfc.tag.TagCommandError)
        self._cancelled = cancelled   # a threading.Event: the person who pressed OK has gone
        try:
            self.tag = self._wait_for_card(nfc, device, wait)
        except BaseException:
            self.close()  # the frontend (and its USB device) is not left open behind a failed read
            raise

    def _wait_for_card(self, nfc, device: str, wait: float):
        deadline = time.monotonic() + wait
        target = None
        # The field found empty three polls running (about 0.7 s: a poll or two a card on it missed is no
        # taking off, and nobody swaps cards faster), or a kiosk just started: whatever card comes is a new
        # placing.  (A swap faster still is refused as the card left on it: take it off and put it back.)
        empty = device not in _nfc_placings
        misses = 0
        try:
            while target is None and time.monotonic() < deadline and not self._given_up():
                target = self.clf.sense(nfc.clf.RemoteTarget("106B"), iterations=1, interval=0.2)
                misses = misses + 1 if target is None else 0
                empty = empty or misses >= 3
            if self._given_up():
                # Whatever card comes now is not the one whose PIN this read holds: not a byte to it.
                raise CardError("cancelled", "the read was given up before a card was held to the reader")
            if target is None:
                raise CardError("no_card", "no card was held to the reader")
            try:
                tag = nfc.tag.activate(self.clf, target)
            except (OSError, nfc.clf.Error):
                raise
            except Exception as exc:   # a garbled answer that breaks nfcpy itself: as any card not read
                raise CardError("card_removed", "the card could not be read; please hold it still "
                                                f"(unreadable answer ({type(exc).__name__}))") from exc
        except nfc.clf.CommunicationError as exc:
            raise CardError("card_removed", f"the card could not be read; please hold it still ({exc})") from None
        except (OSError, nfc.clf.Error) as exc:
            raise _nfc_reader_failed(device, exc, "My Number cards (ISO 14443 Type B)") from None
        if tag is None:
            raise CardError("not_my_number_card", "this card is not a My Number card")
        if empty:
            _nfc_placings[device] = _nfc_placings.get(device, 0) + 1
        self.insertion = (device, _nfc_placings[device])
        return tag

    def _given_up(self) -> bool:
        return self._cancelled is not None and self._cancelled.is_set()

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._given_up():
            raise CardError("cancelled", "the read was given up; nothing is sent to the card")
        try:
            response = self.tag.transceive(bytes(apdu))
        except self._errors as exc:
            raise ConnectionError(str(exc)) from None
        except OSError:
            raise   # the reader itself (unplugged, say): read_basic4 takes it as the card gone, as it is
        except Exception as exc:
            # A damaged card's answer can break nfcpy itself (a 1-byte S(WTX) block: IndexError in its ISO-DEP
            # loop): for the person it is a card that could not be read, as any other, not a kiosk that failed.
            raise ConnectionError(f"unreadable answer ({type(exc).__name__})") from exc
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
    except (OSError, nfc.clf.Error) as exc:
        raise _nfc_reader_failed(device, exc, "transport IC cards (FeliCa)") from None
    finally:
        clf.close()
