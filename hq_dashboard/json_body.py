"""Request bodies too deeply nested to decode are bad JSON, not a server failure; gzipped bodies.

Python's JSON decoder recurses once per level: a body of 100,000 nested brackets (a few hundred
kilobytes, well inside the size limit) raises RecursionError, which Flask's get_json does not count
as a decoding error, so every JSON endpoint answered it with a 500."""
from __future__ import annotations

import zlib
from typing import Any

from flask import Request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge


class JSONBodyRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as exc:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(f"the JSON is nested too deeply ({exc})"))

    def inflate_gzip(self) -> None:
        """A body sent with `Content-Encoding: gzip` (a kiosk on a slow uplink: its batches shrink about
        13 times) is decompressed here, so get_json reads the JSON.  The decompressed size is held to
        the same limit as a plain body: a small gzip must not become a huge body in HQ's memory, so it
        is decompressed piece by piece and refused (413) as soon as it passes the limit.  Raises
        NotGzip for a body that is not gzip."""
        limit = self.max_content_length
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)   # gzip's header and trailer, nothing else
        out = bytearray()
        try:
            while chunk := self.stream.read(64 * 1024):   # the stream itself holds the gzip to the limit
                if inflater.eof:
                    raise NotGzip("there is more after the end of the gzip data")
                # At most one byte past the limit comes out: enough to know it is too large.
                out += inflater.decompress(chunk) if limit is None else inflater.decompress(chunk, limit + 1 - len(out))
                if limit is not None and len(out) > limit:
                    raise RequestEntityTooLarge()
                if inflater.unused_data:
                    raise NotGzip("there is more after the end of the gzip data")
        except zlib.error as exc:
            raise NotGzip(str(exc)) from None
        if not inflater.eof:
            raise NotGzip("the gzip data ends before it is complete")
        # What get_data reads from here on: werkzeug keeps the body it read in _cached_data.
        self._cached_data = bytes(out)


class NotGzip(ValueError):
    """The body says it is gzip and is not."""


class UnreadableBody(ValueError):
    """A body that is no JSON object; `why` ends a sentence that begins with what the body is ("the
    inquiry ..."), and `status` is 415 for a body not sent as JSON."""

    def __init__(self, why: str, status: int = 400):
        super().__init__(why)
        self.why, self.status = why, status


def json_object(request: Request) -> dict:
    """The body as a JSON object, or UnreadableBody naming which of three things is wrong, so that whoever
    writes a client is not told their JSON is wrong when it is the Content-Type."""
    if not request.is_json:
        sent = (request.mimetype or "no Content-Type")[:60]
        raise UnreadableBody(f"must be sent as JSON, with Content-Type: application/json, not {sent}", 415)
    try:
        body = request.get_json()
    except BadRequest:
        raise UnreadableBody("is not valid JSON") from None
    if not isinstance(body, dict):
        raise UnreadableBody("must be a JSON object")
    return body
