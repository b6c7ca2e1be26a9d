"""Regular expressions and normalisers for the built-in entity types.

Kept apart from :mod:`nlp.entities` so the (long, fiddly) expressions can be read and tested
on their own. Each normaliser returns ``None`` when a match turns out not to be an entity
(a "phone number" with five digits, a 31st of February).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

__all__ = ["BUILTIN", "NEEDS_AT", "NEEDS_DIGIT", "Normalizer"]

Normalizer = Callable[[re.Match[str], date], str | None]

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ),
        start=1,
    )
    for m in names.split()
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "chf": "CHF"}
_CURRENCY_WORDS = {
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "chf": "CHF",
    "jpy": "JPY",
    "yen": "JPY",
    "inr": "INR",
    "rupees": "INR",
}
_CUR_WORD_RE = "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True))
_AMOUNT = r"\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?!\w)")
PHONE = re.compile(r"(?<![\w+(])(?:\+|00)?\(?\d[\d\s().-]{5,18}\d(?!\w)")
MONEY = re.compile(
    rf"(?P<sym>[$€£¥₹])\s?(?P<a1>{_AMOUNT})"
    rf"|(?P<a2>{_AMOUNT})\s?(?:(?P<sym2>[$€£¥₹])|(?P<word>{_CUR_WORD_RE})\b)"
    rf"|\b(?P<word2>{_CUR_WORD_RE})\s?(?P<a3>{_AMOUNT})",
    re.IGNORECASE,
)
DATE = re.compile(
    r"\b(?P<iso>(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2}))\b"
    r"|\b(?P<d2>\d{1,2})[./](?P<m2>\d{1,2})[./](?P<y2>\d{2,4})\b"
    rf"|\b(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon3>{_MONTH_RE})\.?(?:,?\s+(?P<y3>\d{{4}}))?\b"
    rf"|\b(?P<mon4>{_MONTH_RE})\.?\s+(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y4>\d{{4}}))?\b"
    r"|\b(?P<rel>today|tomorrow|yesterday|day after tomorrow)\b"
    rf"|\b(?P<next>next|this|last)\s+(?P<wd>{'|'.join(_WEEKDAYS)})\b",
    re.IGNORECASE,
)
ORDER_REF = re.compile(
    r"\b(?P<pref>ORD-?\d{3,}(?:-\d+)*)\b"
    r"|\b(?:order|ord|purchase)\s*(?:no\.?|number|nr\.?|id|ref)?\s*[:#]?\s*"
    r"(?P<id>[A-Z]{0,4}-?\d{3,}(?:-\d+)*)\b"
    r"|(?<![\w#])#(?P<hash>\d{4,})\b",
    re.IGNORECASE,
)
TICKET_REF = re.compile(
    r"\b(?:ticket|case|incident)\s*(?:no\.?|number|nr\.?|id)?\s*[:#]?\s*(?P<id>[A-Z]{0,4}-?\d{2,})\b"
    r"|\b(?P<pref>(?:TCK|TKT|FD)-\d{2,})\b",
    re.IGNORECASE,
)


def _email(m: re.Match[str], today: date) -> str | None:
    return m.group(0).lower()


def _phone(m: re.Match[str], today: date) -> str | None:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    if not 7 <= len(digits) <= 15 or re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", raw.strip()):
        return None
    if re.fullmatch(r"\d{1,2}[./]\d{1,2}[./]\d{2,4}", raw.strip()):
        return None
    if raw.startswith("00"):
        return "+" + digits[2:]
    return ("+" if raw.startswith("+") else "") + digits


def _money(m: re.Match[str], today: date) -> str | None:
    amount = m.group("a1") or m.group("a2") or m.group("a3") or ""
    symbol = m.group("sym") or m.group("sym2")
    word = (m.group("word") or m.group("word2") or "").lower()
    currency = _CURRENCIES.get(symbol or "", "") or _CURRENCY_WORDS.get(word, "")
    compact = re.sub(r"\s", "", amount)
    parts = re.fullmatch(r"(.*?)(?:[.,](\d{1,2}))?", compact)
    whole = re.sub(r"\D", "", parts.group(1)) if parts else compact
    cents = ((parts.group(2) if parts else None) or "").ljust(2, "0")
    value = f"{int(whole or '0')}.{cents}"
    return f"{value} {currency}".strip()


def _safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _year(raw: str | None, today: date) -> int:
    if not raw:
        return today.year
    year = int(raw)
    return year + 2000 if year < 100 else year


def _date(m: re.Match[str], today: date) -> str | None:
    if m.group("iso"):
        return _safe_date(int(m.group("y1")), int(m.group("m1")), int(m.group("d1")))
    if m.group("d2"):  # day first: the common order outside the US; 05/13 still resolves
        day, month = int(m.group("d2")), int(m.group("m2"))
        if month > 12 >= day:
            day, month = month, day
        return _safe_date(_year(m.group("y2"), today), month, day)
    if m.group("mon3"):
        month = _MONTHS[m.group("mon3").lower()]
        return _safe_date(_year(m.group("y3"), today), month, int(m.group("d3")))
    if m.group("mon4"):
        month = _MONTHS[m.group("mon4").lower()]
        return _safe_date(_year(m.group("y4"), today), month, int(m.group("d4")))
    if m.group("rel"):
        offset = {"today": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}
        return (today + timedelta(days=offset[m.group("rel").lower()])).isoformat()
    weekday = _WEEKDAYS.index(m.group("wd").lower())
    delta = (weekday - today.weekday()) % 7
    which = m.group("next").lower()
    if which == "next":
        delta = delta or 7
    elif which == "last":
        delta = delta - 7 if delta else -7
    return (today + timedelta(days=delta)).isoformat()


def _ref(m: re.Match[str], today: date) -> str | None:
    ref = next((g for g in m.groups() if g), None)
    return ref.upper() if ref else None


BUILTIN: tuple[tuple[str, re.Pattern[str], Normalizer], ...] = (
    ("email", EMAIL, _email),
    ("order_ref", ORDER_REF, _ref),
    ("ticket_ref", TICKET_REF, _ref),
    ("money", MONEY, _money),
    ("date", DATE, _date),
    ("phone", PHONE, _phone),
)
"""In priority order: on overlapping matches the earlier type wins at equal length."""

NEEDS_DIGIT = frozenset({"order_ref", "ticket_ref", "money", "phone"})
"""Types whose expression has a mandatory ``\\d`` in every alternative (``_AMOUNT`` starts with
one): they cannot match a text in which ``\\d`` finds nothing, so the scan is skipped there.
Keep in step with the expressions; a test checks it on digit-free text."""

NEEDS_AT = frozenset({"email"})
"""Types whose expression has a mandatory literal ``@``."""
