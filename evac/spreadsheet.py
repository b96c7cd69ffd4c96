"""Cells of the CSV files people open in Excel: text that starts like a formula stays text.

A name or an address typed (or imported) as "=HYPERLINK(…)" or "@SUM(…)" would run as a formula when a
clerk opens the file: it gets a leading apostrophe, which Excel shows as text and does not print.
Numbers are left alone, so a file's coordinates and counts stay numbers.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text
