"""Request bodies too deeply nested to decode are bad JSON, not a server failure.

Python's JSON decoder recurses once per level: a body of 100,000 nested brackets (a few hundred
kilobytes, well inside the size limit) raises RecursionError, which Flask's get_json does not count
as a decoding error, so every JSON endpoint answered it with a 500."""
from __future__ import annotations

from typing import Any

from flask import Request


class JSONBodyRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as exc:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(f"the JSON is nested too deeply ({exc})"))
