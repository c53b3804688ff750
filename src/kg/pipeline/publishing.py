"""Publish the dumps to a remote SPARQL 1.1 store (Graph Store Protocol).

``kg publish --to <graph store URL>`` PUTs each named graph of ``dist/kg.trig``; the server then
answers from that store with ``KG_BACKEND=<endpoint URL>`` (:mod:`kg.query.remote`).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pyoxigraph as ox


def publish(dist_dir: Path, graph_store: str, auth: tuple[str, str] | None = None) -> dict[str, int]:
    """PUT every named graph of ``dist_dir/kg.trig`` to a Graph Store Protocol endpoint.

    Returns triples sent per graph; raises RuntimeError naming the graph and the store's answer.
    """
    by_graph: dict[str, list[ox.Triple]] = {}
    for quad in ox.parse(path=str(dist_dir / "kg.trig"), format=ox.RdfFormat.TRIG):
        if isinstance(quad.graph_name, ox.NamedNode):
            by_graph.setdefault(quad.graph_name.value, []).append(ox.Triple(quad.subject, quad.predicate, quad.object))
    sent = {}
    digest = httpx.DigestAuth(*auth) if auth else None
    with httpx.Client(timeout=600, auth=digest) as client:
        for graph, triples in by_graph.items():
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            r = client.put(
                graph_store, params={"graph": graph}, content=body, headers={"Content-Type": "application/n-triples"}
            )
            if r.status_code not in (200, 201, 204):
                raise RuntimeError(f"PUT {graph} to {graph_store}: {r.status_code} {r.text.strip()[:300]}")
            sent[graph] = len(triples)
    return sent
