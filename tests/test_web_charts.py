"""The SVG chart helpers on their own: number formats per language, grey-scale contrast, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kg.web import charts


def test_numbers_in_japanese_and_english_formats():
    assert charts.fmt_int(1234, "ja") == charts.fmt_int(1234, "en") == "1,234"
    assert charts.fmt_yen(24_805_000_000, "ja") == "248.05億円"
    assert charts.fmt_yen(14_000_000_000, "ja") == "140億円"
    assert charts.fmt_yen(24_805_000_000, "en") == "¥24.81 bn"
    assert charts.fmt_yen(310_000_000, "en") == "¥310 m"
    assert charts.fmt_yen(0, "en") == "¥0"
    assert charts.fmt_date("2020-10-01", "ja") == "2020年10月1日" and charts.fmt_date("2020-10-01", "en") == "1 Oct 2020"
    assert charts.fmt_date("2008-07", "ja") == "2008年7月" and charts.fmt_date("2008-07", "en") == "Jul 2008"


def _luminance(hex_colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(hex_colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_series_differ_in_grey_scale():
    # WCAG contrast ratio between every two series fills: apart even without their patterns
    lum = sorted(_luminance(c) for c in charts.SERIES)
    for darker, lighter in zip(lum, lum[1:], strict=False):
        assert (lighter + 0.05) / (darker + 0.05) >= 2.0


def test_labels_are_escaped_text_and_chart_is_accessible():
    rows = [charts.StackRow("1", '<script>alert("x")</script>', "/id/x?a=1&b=2", (1, 0, 2)),
            charts.StackRow("2", "空", None, (0, 0, 0))]
    svg = ET.fromstring(str(charts.stacked_bars("c", rows, ["a", "b", "c"], "T & T", "D", "ja")))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in svg.iter(f"{ns}text")]
    assert '<script>alert("x")</script>' in texts and "空" in texts
    assert not list(svg.iter(f"{ns}script"))
    assert svg.find(f"{ns}title").text == "T & T" and svg.get("aria-labelledby") == "c-title c-desc"
    totals = {t.get("data-key"): t.get("data-total") for t in svg.iter(f"{ns}text") if t.get("data-total")}
    assert totals == {"1": "3", "2": "0"}  # a row without any value still shows its 0


def test_fit_middle_keeps_long_names_apart_and_inside_the_width():
    from kg.web.charts import fit_middle, text_width

    a = "Act on the Promotion of Business Activities by SMEs Utilising Regional Industrial Resources"
    b = "Act on the Promotion of Business Activities through Collaboration with Agriculture and Fisheries"
    cut = [fit_middle(t, 200) for t in (a, b)]
    assert cut[0] != cut[1] and all("…" in c and text_width(c) <= 200 for c in cut)
    assert cut[0].startswith("Act on") and cut[0].endswith("Resources")  # whole words at both ends
    ja = fit_middle("中小企業による地域産業資源を活用した事業活動の促進に関する法律", 150)
    assert text_width(ja) <= 150 and ja.startswith("中小企業") and ja.endswith("法律")
    assert fit_middle("Short name", 200) == "Short name"
