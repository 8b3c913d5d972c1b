"""Ids and whole numbers read from addresses, query strings and forms, checked at the edge.

Every id is a database key from 1 to 2^31-1: the keys and whole-number columns are INTEGER, 32 bits
on PostgreSQL (SQLite's are 64). A number outside that range must never reach a query: PostgreSQL
refuses it ("integer out of range") and SQLite cannot bind one beyond 64 bits. So ``<int:...>`` in
every route is ``IdConverter`` (an id out of range is no page: 404), and query strings and forms read
ids with ``as_id`` (out of range: not an id) and whole numbers within ``MAX_INT``.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_INT = 2**31 - 1  # PostgreSQL's INTEGER, the type of every key and whole-number column
MAX_ID = MAX_INT
MAX_DIGITS = len(str(MAX_ID))  # 10


class IdConverter(IntegerConverter):
    """``<int:name>`` in a route: a whole number from 1 to ``MAX_ID``; anything else matches no page."""

    regex = rf"\d{{1,{MAX_DIGITS}}}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def as_id(value) -> int:
    """``value`` (text from a form or a query string) as an id; ValueError when it is not one.

    Usable as ``request.args.get("student", type=as_id)``: a value that is not an id then reads as
    missing."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > MAX_DIGITS:
        raise ValueError(f"{value!r} is not an id")
    number = int(text)
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"{value!r} is not an id")
    return number

