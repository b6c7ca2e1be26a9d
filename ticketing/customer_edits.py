"""Editing a customer's tags and attributes (the REST API's ``PATCH /api/v1/customers/{id}``).

Tags are added and removed by name; attributes are *merged* (a key given replaces that key, a
``None`` value deletes it, keys not given stay). The read, the change and the write are one
transaction with the row locked on PostgreSQL, so two agents editing at once both keep their
change. The limits keep one record small enough to show and search: what a CRM stores about a
customer belongs in the CRM, Frontdesk keeps the handful of facts its rules and agents use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.customer_records import CustomerSummary, summary_from_row
from ticketing.errors import CustomerNotFound, CustomerRetired, InvalidValue
from ticketing.models import Customer
from ticketing.time import utcnow

__all__ = ["MAX_ATTRIBUTES", "MAX_TAGS", "CustomerEdits", "check_text"]

MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_ATTRIBUTES = 50
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 1000
_SAFE_INT = 2**53  # beyond this a JavaScript client reads a different number


class CustomerEdits:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def edit(
        self, customer_id: int, *, add_tags: Sequence[str] = (), remove_tags: Sequence[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> CustomerSummary:  # fmt: skip
        """Apply the changes and return the customer as stored.

        Raises:
            CustomerNotFound: no such customer.
            CustomerRetired: it was merged into another (edit that one) or erased.
            InvalidValue: a tag or attribute breaks a limit; the message names it.
        """
        adding = [_tag(t) for t in add_tags]
        removing = {_tag(t) for t in remove_tags}
        changes = {_key(k): _value(k, v) for k, v in (attributes or {}).items()}
        async with self._engine.begin() as conn:
            row = (
                (
                    await conn.execute(
                        select(Customer.__table__).where(Customer.id == customer_id).with_for_update()
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise CustomerNotFound(f"no customer {customer_id}")
            if row["merged_into_id"] is not None:
                into = int(row["merged_into_id"])
                raise CustomerRetired(
                    f"customer {customer_id} was merged into {into}; edit {into}", merged_into=into
                )
            if row["erased_at"] is not None:
                raise CustomerRetired(
                    f"customer {customer_id} was erased; an erased record takes no new data", merged_into=None
                )
            tags = [t for t in dict.fromkeys([*(row["tags"] or []), *adding]) if t not in removing]
            attrs = {**(row["attributes"] or {}), **changes}
            attrs = {k: v for k, v in attrs.items() if v is not None}
            if len(tags) > MAX_TAGS:
                raise InvalidValue(f"a customer holds at most {MAX_TAGS} tags; this would make {len(tags)}")
            if len(attrs) > MAX_ATTRIBUTES:
                raise InvalidValue(
                    f"a customer holds at most {MAX_ATTRIBUTES} attributes; this would make {len(attrs)} "
                    "(a null value deletes a key)"
                )
            now = utcnow()
            values = {"tags": tags, "attributes": attrs, "updated_at": now}
            await conn.execute(update(Customer).where(Customer.id == customer_id).values(**values))
            return summary_from_row({**row, "tags": tags, "attributes": attrs, "updated_at": now})


def check_text(text: str, what: str) -> str:
    """``text`` if the database can store it: no NUL character, no lone surrogate (PostgreSQL
    refuses both, so they must be a client's error here, not a failed statement later)."""
    if "\x00" in text:
        raise InvalidValue(f"{what} contains a NUL character; remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"{what} is not valid Unicode (a lone surrogate); send UTF-8 text") from None
    return text


def _tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag.strip():
        raise InvalidValue(f"a tag must be a non-empty string, not {tag!r:.40}")
    name = check_text(tag.strip(), "a tag")
    if len(name) > MAX_TAG_CHARS:
        raise InvalidValue(f"tag {name[:20]!r}… is longer than {MAX_TAG_CHARS} characters")
    return name


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidValue("an attribute name must be a non-empty string")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidValue(f"attribute name {key[:20]!r}… is longer than {MAX_KEY_CHARS} characters")
    return check_text(key, "an attribute name")


def _value(key: str, value: Any) -> str | int | float | bool | None:
    """A scalar: string, number, boolean, or None to delete the key."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidValue(f"attribute {key!r:.40}: a value holds at most {MAX_VALUE_CHARS} characters")
        return check_text(value, f"attribute {key!r:.40}")
    if isinstance(value, int):
        if abs(value) > _SAFE_INT:
            raise InvalidValue(f"attribute {key!r:.40}: {value} is beyond ±2^53; send it as a string")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"attribute {key!r:.40}: NaN and Infinity are not JSON numbers")
        return value
    raise InvalidValue(
        f"attribute {key!r:.40}: a value is a string, number, boolean or null (to delete), "
        f"not {type(value).__name__ if not isinstance(value, dict | list) else 'an object or array'}"
    )
