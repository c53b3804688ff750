"""One thing, one IRI: entities stated in several documents are one entity with several sources.

Each entry says why the documents speak of the same thing (checked by reading them).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from rdflib import Literal
from rdflib.namespace import PROV, RDF, RDFS

from kg.namespaces import KGO, entity
from kg.text import match_key

CROSS_DOCUMENT = {
    ("program", "industrial-support-base-redevelopment"): ({"000", "002"},
        "000 3 (2) ① describes merging TIRI's Nishigaoka HQ and Komazawa branch into a new base at Aomi, Koto "
        "(and a Tama base); 002 2-1 names that project 産業支援拠点の再整備 and re-lists it under 2-8."),
    ("program", "tokyo-regional-sme-support-fund"): ({"000", "002"},
        "000 1 (3) names 東京都地域中小企業応援ファンド, set up in FY2008 partly with national money, and 3 (2) ④ "
        "says Tokyo uses SMRJ's 地域中小企業応援ファンド scheme for it; 002 2-4 lists the same Tokyo fund."),
    ("program", "tokyo-sme-institutional-finance"): ({"000", "002"},
        "000 3 (2) ⑦ 制度融資 is Tokyo's scheme of depositing funds with banks for low-interest SME loans; "
        "002 2-10 lists it as 中小企業制度融資 (Tokyo, the credit guarantee corporation and banks together)."),
    ("program", "shin-genki-wo-dase-shotengai"): ({"000", "002"},
        "Same name 新・元気を出せ！商店街事業 in 000 3 (2) ⑨ and 002 2-10 【別掲】: Tokyo's shopping-street grant."),
    ("organization", "tiri"): ({"000", "002"}, "地方独立行政法人東京都立産業技術研究センター, named in both."),
    ("organization", "tokyo-ip-center"): ({"000", "002"}, "東京都知的財産総合センター, named in both."),
}


@pytest.mark.parametrize("key", sorted(CROSS_DOCUMENT), ids=lambda k: "/".join(k))
def test_cross_document_entity_has_every_source(graphs, key):
    docs, why = CROSS_DOCUMENT[key]
    node = entity(*key)
    sources = {str(o).rsplit("/", 1)[-1] for o in graphs.data.objects(node, PROV.wasDerivedFrom)}
    assert docs <= sources, why
    citations = {str(c).rsplit("-", 1)[-1] for c in graphs.data.objects(node, PROV.qualifiedDerivation)}
    assert docs <= citations


def test_no_program_is_stated_twice(graphs):
    """Programs with the same (width-folded) name and the same implementer must be one entity."""
    seen = defaultdict(list)
    g = graphs.data
    for p in g.subjects(RDF.type, KGO.Program):
        name = next(str(o) for o in g.objects(p, RDFS.label) if isinstance(o, Literal) and o.language == "ja")
        for body in g.objects(p, KGO.implementedBy):
            seen[(match_key(name), body)].append(p)
    duplicates = {k: v for k, v in seen.items() if len(set(v)) > 1}
    assert not duplicates


def test_listed_in_several_documents_query_finds_them(store):
    from kg.query.saved import load_saved_queries
    from kg.query.store import run_query
    from kg.settings import load_settings
    q = load_saved_queries(load_settings({}).queries_dir)["programs-listed-several"]
    rows = {r["program"].value.rsplit("/", 1)[-1]: int(r["documents"].value) for r in run_query(store, q.text)}
    for (kind, key), (docs, _why) in CROSS_DOCUMENT.items():
        if kind == "program":
            assert rows.get(key, 0) >= len(docs), key
