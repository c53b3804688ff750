"""Property-based tests (hypothesis) for the parsers of our inputs."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kg.dates import (
    ERAS,
    check_digit,
    era_year_to_western,
    fiscal_year_bounds,
    fiscal_year_of,
    is_valid_code6,
    law_number_year,
    parse_era_date,
)
from kg.pipeline.table_schema import METADATA_FILE, read_schema
from kg.pipeline.tables import DataError, Problem, read_table
from kg.query.saved import Param, ParameterError
from kg.text import match_key

from .conftest import ROOT as PROJECT_ROOT

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_check_digit_makes_valid_code(code5):
    assert is_valid_code6(code5 + str(check_digit(code5)))


@given(st.text(alphabet="0123456789", min_size=5, max_size=5), st.integers(0, 9))
def test_wrong_check_digit_is_rejected(code5, digit):
    assume(digit != check_digit(code5))
    assert not is_valid_code6(code5 + str(digit))


@given(st.sampled_from(sorted(ERAS)), st.data())
def test_era_dates_convert_exactly(era, data):
    start = ERAS[era]
    later = sorted(d for d in ERAS.values() if d > start)
    end = later[0] - timedelta(days=1) if later else date(2100, 12, 31)
    day = data.draw(st.dates(min_value=start, max_value=end))
    year = day.year - start.year + 1
    text = f"{era}{year}年{day.month}月{day.day}日"
    assert parse_era_date(text) == day
    spaced = f"{era} {str(year).translate(FULLWIDTH)} 年 {day.month} 月 {day.day} 日"
    assert parse_era_date(spaced) == day
    assert era_year_to_western(era, year) == day.year


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_fiscal_year_contains_its_days(day):
    fy = fiscal_year_of(day)
    first, last = fiscal_year_bounds(fy)
    assert first <= day <= last
    assert (last - first).days in (364, 365)


def test_known_era_boundaries():
    assert parse_era_date("平成元年1月8日") == date(1989, 1, 8)
    assert parse_era_date("令和元年5月1日") == date(2019, 5, 1)
    assert parse_era_date("平成23年1月21日") == date(2011, 1, 21)
    for bad in ("平成31年5月1日", "令和1年4月30日", "昭和64年1月8日", "未来3年1月1日"):
        try:
            parse_era_date(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


@given(st.sampled_from(sorted(ERAS)), st.integers(1, 31), st.integers(1, 200), st.booleans())
def test_law_number_year_is_the_era_year(era, year, number, wide):
    later = sorted(d for d in ERAS.values() if d > ERAS[era])
    assume(not later or ERAS[era].year + year - 1 <= later[0].year)  # the era still ran that year
    digits = (lambda t: t.translate(FULLWIDTH)) if wide else str
    text = f"{era}{digits(str(year))}年法律第{digits(str(number))}号"
    assert law_number_year(text) == era_year_to_western(era, year) == ERAS[era].year + year - 1


def test_law_number_year_known_numbers():
    # 平成 n → 1988 + n, 令和 n → 2018 + n, 昭和 n → 1925 + n
    assert law_number_year("平成19年法律第39号") == 2007
    assert law_number_year("平成11年法律第18号") == 1999
    assert law_number_year("令和2年法律第58号") == 2020
    assert law_number_year("昭和41年法律第97号") == 1966
    assert law_number_year("平成元年法律第1号") == 1989
    assert law_number_year("平成 １９ 年 法律 第 ３９ 号") == 2007
    for bad in ("平成19年政令第39号", "平成32年法律第1号", "昭和65年法律第1号", "2007年法律第39号", "平成0年法律第1号", ""):
        try:
            law_number_year(bad)
        except ValueError as e:
            assert repr(bad) in str(e) or bad == ""
            continue
        raise AssertionError(bad)


@given(st.text())
def test_match_key_is_idempotent_and_width_blind(text):
    key = match_key(text)
    assert match_key(key) == key
    assert not any(ch.isspace() for ch in key)


@given(st.text(alphabet="ＡＢＣａｂｃ０１２ 　abcABC012", max_size=20))
def test_match_key_folds_width_and_case(text):
    import unicodedata
    assert match_key(text) == match_key(unicodedata.normalize("NFKC", text).upper())


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_parameters_bind_or_refuse(raw):
    for kind in ("string", "search", "integer", "year", "iri", "municipality-code", "law"):
        param = Param("p", kind, None, "")
        try:
            term = param.bind(raw)
        except ParameterError as exc:
            assert "'p'" in str(exc)
            continue
        assert term is not None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
                         min_size=1, max_size=8), max_size=6))
def test_table_reader_reports_located_problems(tmp_path_factory, rows):
    """Any content either loads or gives problems that name the file and a line."""
    table = read_schema(PROJECT_ROOT / "data" / METADATA_FILE).table("organizations")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.name for c in table.columns])
    for r in rows:
        w.writerow(r)
    path = tmp_path_factory.mktemp("t") / "organizations.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        loaded, problems = read_table(path, table)
    except DataError as exc:
        problems = exc.problems
        loaded = []
    for p in problems:
        assert isinstance(p, Problem) and p.file == "data/organizations.csv" and p.line >= 1
    assert len(loaded) + len(problems) >= 0
