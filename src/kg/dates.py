"""Japanese era dates and fiscal years (年度), converted exactly."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# First day of each era (Gregorian). An era year 1 (元年) starts on that day.
ERAS: dict[str, date] = {
    "明治": date(1868, 1, 25),
    "大正": date(1912, 7, 30),
    "昭和": date(1926, 12, 25),
    "平成": date(1989, 1, 8),
    "令和": date(2019, 5, 1),
}

_ERA_RE = re.compile(r"^(明治|大正|昭和|平成|令和)(元|\d+)年(?:(\d+)月(?:(\d+)日)?)?$")


def era_year_to_western(era: str, year: int) -> int:
    """Return the Gregorian year of ``year`` of ``era`` (e.g. 平成23 → 2011)."""
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}")
    if year < 1:
        raise ValueError(f"era year must be ≥ 1, got {year}")
    return ERAS[era].year + year - 1


def parse_era_date(text: str) -> date | tuple[int, int] | int:
    """Parse an era date such as ``平成 23 年 1 月 21 日`` (full-width digits and spaces allowed).

    Returns a ``date`` when day is given, ``(year, month)`` for year-month, or the year alone.
    Raises ValueError for unknown eras or dates outside the era.
    """
    norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    m = _ERA_RE.match(norm)
    if not m:
        raise ValueError(f"not an era date: {text!r}")
    era, y, mo, d = m.groups()
    year = era_year_to_western(era, 1 if y == "元" else int(y))
    if mo is None:
        return year
    if d is None:
        return (year, int(mo))
    result = date(year, int(mo), int(d))
    if result < ERAS[era]:
        raise ValueError(f"{text!r} is before the start of {era}")
    later = [start for start in ERAS.values() if start > ERAS[era]]
    if later and result >= min(later):
        raise ValueError(f"{text!r} is after the end of {era}")
    return result


_LAW_NUMBER_RE = re.compile(r"^(明治|大正|昭和|平成|令和)(元|\d+)年法律第(\d+)号$")


def law_number_year(text: str) -> int:
    """Return the Gregorian year of promulgation read from a law number (法令番号).

    Acts are numbered per year of promulgation, so the year in the number is that year:
    平成11年法律第18号 → 1999 (平成 n → 1988 + n, 令和 n → 2018 + n, 昭和 n → 1925 + n). Only the
    year follows, not the day. Full-width digits and spaces are allowed. Raises ValueError (naming
    the text) for anything that is not an act's number or for a year after the end of its era.
    """
    norm = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    m = _LAW_NUMBER_RE.match(norm)
    if not m:
        raise ValueError(f"not a law number (like 平成19年法律第39号): {text!r}")
    era, y, _number = m.groups()
    if y != "元" and int(y) < 1:
        raise ValueError(f"{text!r}: an era year starts at 1 (元年)")
    year = era_year_to_western(era, 1 if y == "元" else int(y))
    later = [start for start in ERAS.values() if start > ERAS[era]]
    if later and year > min(later).year:
        raise ValueError(f"{text!r}: {era} had ended by {year}")
    return year


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """Return the first and last day of Japanese fiscal year ``fy`` (April to March)."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def fiscal_year_of(day: date) -> int:
    """Return the fiscal year (年度) a day falls in."""
    return day.year if day.month >= 4 else day.year - 1


def check_digit(code5: str) -> int:
    """Return the check digit of a 5-digit local government code (全国地方公共団体コード)."""
    if not re.fullmatch(r"\d{5}", code5):
        raise ValueError(f"expected 5 digits, got {code5!r}")
    total = sum(w * int(c) for w, c in zip((6, 5, 4, 3, 2), code5, strict=True))
    return (11 - total % 11) % 10


def is_valid_code6(code6: str) -> bool:
    """Return True if ``code6`` is 6 digits whose last digit is the check digit of the first 5."""
    return bool(re.fullmatch(r"\d{6}", code6)) and check_digit(code6[:5]) == int(code6[5])
