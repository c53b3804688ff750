"""The audits of the five documents (docs/audit-000.md … audit-004.md) against the built graph.

Each audit walks its document section by section. Every row of a walk table states one fact of
the document and either says where the graph holds it (class, property, an example IRI and,
where given, the value) or why it is left out (not a fact, opinion, repeated elsewhere — saying
where —, out of scope — saying why). A row that points at something the graph does not hold fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from kg.namespaces import PREFIXES

from .conftest import ROOT

AUDITS = [ROOT / "docs" / f"audit-00{n}.md" for n in range(5)]
HEADER = ["section", "statement", "class", "property", "example", "value", "left out because"]
REASON = re.compile(r"(not a fact|opinion|repeated elsewhere: \S.*|out of scope: \S.*)")
EMPTY = {"", "—", "-"}


@dataclass(frozen=True)
class Row:
    where: str  # file:line
    cells: dict[str, str]


def parse_audit(text: str, name: str = "audit") -> list[Row]:
    """The rows of every walk table (a table headed exactly ``HEADER``) in an audit's text."""
    rows: list[Row] = []
    in_walk = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_walk = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells == HEADER:
            in_walk = True
            continue
        if not in_walk or set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == len(HEADER), f"{name}:{number}: {len(cells)} cells, not {len(HEADER)}"
        rows.append(Row(f"{name}:{number}", dict(zip(HEADER, cells, strict=True))))
    return rows


def _term(cell: str) -> URIRef:
    """A CURIE (``kgo:Program``, ``id:program/x``) or a full IRI, in backticks or not."""
    text = cell.strip().strip("`")
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    if text.startswith("http"):
        return URIRef(text)
    prefix, _, local = text.partition(":")
    if prefix not in PREFIXES or not local:
        raise ValueError(f"not a CURIE or IRI: {cell!r}")
    return URIRef(str(PREFIXES[prefix]) + local)


def check_row(row: Row, g: Graph) -> list[str]:
    """What is wrong with one audit row, given the graph (empty when the row is right)."""
    c = row.cells
    where = f"{row.where}: {c['statement'][:50]}"
    held = [c[k] not in EMPTY for k in ("class", "property", "example")]
    reason = c["left out because"]
    if not c["section"] or not c["statement"]:
        return [f"{where}: section and statement are required"]
    if not any(held):
        if not REASON.fullmatch(reason):
            return [f"{where}: left out without a reason of the list (not a fact, opinion, "
                    f"repeated elsewhere: WHERE, out of scope: WHY): {reason!r}"]
        return []
    if not all(held):
        return [f"{where}: class, property and example go together"]
    if reason not in EMPTY:
        return [f"{where}: a row is either held by the graph or left out, not both"]
    try:
        cls, example = _term(c["class"]), _term(c["example"])
        inverse = c["property"].strip("`").startswith("^")
        prop = _term(c["property"].strip("`").lstrip("^"))
    except ValueError as exc:
        return [f"{where}: {exc}"]
    problems = []
    if (example, RDF.type, cls) not in g:
        problems.append(f"{where}: {example} is not a {cls} in the graph")
    values = set(g.subjects(prop, example)) if inverse else set(g.objects(example, prop))
    if not values:
        problems.append(f"{where}: {example} has no {'^' if inverse else ''}{prop} in the graph")
    value = c["value"]
    if value not in EMPTY and values:
        if value.startswith("`"):
            try:
                want: object = _term(value)
            except ValueError as exc:
                return [*problems, f"{where}: {exc}"]
            ok = want in values
        else:
            ok = any(isinstance(v, Literal) and str(v) == value for v in values)
        if not ok:
            problems.append(f"{where}: {example} {prop} is {sorted(map(str, values))[:5]}, not {value!r}")
    return problems


@pytest.fixture(scope="module")
def audits() -> dict[str, list[Row]]:
    return {p.name: parse_audit(p.read_text(encoding="utf-8"), p.name) for p in AUDITS if p.exists()}


def test_every_document_has_an_audit(audits):
    assert sorted(audits) == [p.name for p in AUDITS]
    for name, rows in audits.items():
        assert len(rows) >= 15, f"{name}: only {len(rows)} rows"


def test_every_row_points_at_what_the_graph_holds(audits, union):
    problems = [p for rows in audits.values() for row in rows for p in check_row(row, union)]
    assert not problems, "\n".join(problems[:40])


def test_audits_hold_facts_and_say_why_others_are_left_out(audits):
    for name, rows in audits.items():
        held = [r for r in rows if r.cells["example"] not in EMPTY]
        assert held, f"{name}: no row points at the graph"


BAD = """
| section | statement | class | property | example | value | left out because |
|---|---|---|---|---|---|---|
| 1 | good | `kgo:Organization` | `kgo:telephone` | `id:organization/tmg-bila-regional-industry` | 03-5320-4747 | |
| 2 | no such IRI | `kgo:Program` | `rdfs:label` | `id:program/no-such-program` | | |
| 3 | wrong class | `kgo:Program` | `rdfs:label` | `id:organization/meti` | | |
| 4 | no such property | `kgo:Organization` | `kgo:noSuchProperty` | `id:organization/meti` | | |
| 5 | wrong value | `kgo:Organization` | `kgo:telephone` | `id:organization/tmg-bila-regional-industry` | 03-0000-0000 | |
| 6 | left out, no reason | | | | | because |
| 7 | both | `kgo:Organization` | `rdfs:label` | `id:organization/meti` | | opinion |
| 8 | left out | — | — | — | — | repeated elsewhere: 002 2-1 |
"""


def test_a_bad_row_fails(union):
    rows = parse_audit(BAD, "bad")
    verdicts = {r.cells["section"]: check_row(r, union) for r in rows}
    assert verdicts["1"] == [] and verdicts["8"] == []
    for section in "234567":
        assert verdicts[section], section
    assert "not a" in verdicts["3"][0] and "no https://w3id.org/tokyo-sme-kg/ontology#noSuchProperty" in verdicts["4"][0]
