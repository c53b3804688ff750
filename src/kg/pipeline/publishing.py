"""Publish the dumps to a remote SPARQL 1.1 store (Graph Store Protocol).

``kg publish --to <graph store URL>`` sends each named graph of ``dist/kg.trig`` in chunks: the
first chunk of a graph is a PUT (it replaces what the store held under that name), the others are
POSTs (they add to it). The server then answers from that store with ``KG_BACKEND=<endpoint URL>``
(:mod:`kg.query.remote`).

Why chunks: one PUT of a large graph is one request the store must take in one piece — Virtuoso
7.2 answers a PUT of the 1M edition's data graph (866,000 triples) with ``SR172: Transaction
deadlocked`` after having stored part of it. Chunks of ``chunk`` triples are small requests. A
chunk the store refuses with a 500, 502, 503 or 504, or whose connection breaks, is sent again
(``retries`` times: adding triples it already holds changes nothing). Triples with blank nodes
are sent together in the graph's last chunk, so a blank node stays one node (each request has its
own blank-node scope) — and that chunk is not retried, as a retry would add its blank nodes twice.

The dumps are read as a stream, one chunk in flight while the next is prepared: memory stays at
two chunks whatever the size of the edition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pyoxigraph as ox

CHUNK = 50_000  # triples per request
RETRIES = 3
TRANSIENT = {500, 502, 503, 504}  # tried again (Virtuoso's deadlocks are 500s); other refusals are final


class PublishError(RuntimeError):
    """A request the store refused or did not answer; says which graph is left incomplete."""


def _has_blank(t: ox.Triple) -> bool:
    return isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)


def _chunks(quads: Iterable[ox.Quad], chunk: int) -> Iterable[tuple[str, list[ox.Triple]]]:
    """Yield (graph, triples) in chunks of at most ``chunk`` triples; blank-node triples of a graph
    come last, in one piece. Triples outside named graphs are not ours to publish and are skipped."""
    current: dict[str, list[ox.Triple]] = {}
    blank: dict[str, list[ox.Triple]] = {}
    for quad in quads:
        if not isinstance(quad.graph_name, ox.NamedNode):
            continue
        graph = quad.graph_name.value
        triple = ox.Triple(quad.subject, quad.predicate, quad.object)
        if _has_blank(triple):
            blank.setdefault(graph, []).append(triple)
            continue
        batch = current.setdefault(graph, [])
        batch.append(triple)
        if len(batch) >= chunk:
            yield graph, batch
            current[graph] = []
    for graph in {**current, **blank}:
        if current.get(graph):
            yield graph, current[graph]
        if blank.get(graph):
            yield graph, blank[graph]


def publish(
    dist_dir: Path,
    graph_store: str,
    auth: tuple[str, str] | None = None,
    chunk: int = CHUNK,
    timeout: float = 600.0,
    retries: int = RETRIES,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Send every named graph of ``dist_dir/kg.trig`` to a Graph Store Protocol endpoint, in chunks.

    Returns triples sent per graph. Raises PublishError naming the graph, how much of it the
    store holds, and the store's answer. ``progress(graph, sent so far)`` is called after each chunk.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1 triple")
    sent: dict[str, int] = {}
    digest = httpx.DigestAuth(*auth) if auth else None
    quads = ox.parse(path=str(dist_dir / "kg.trig"), format=ox.RdfFormat.TRIG)
    # One request in flight while the next chunk is read and serialized (requests stay in order).
    with httpx.Client(timeout=timeout, auth=digest) as client, ThreadPoolExecutor(1) as sender:
        pending: Future[None] | None = None
        for graph, triples in _chunks(quads, chunk):
            method = "POST" if graph in sent else "PUT"
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
            attempts = 1 if any(map(_has_blank, triples)) else 1 + retries
            if pending is not None:
                pending.result()
            pending = sender.submit(_send, client, method, graph_store, graph, body, attempts, sent.get(graph, 0),
                                    len(triples), partial(progress, graph, sent.get(graph, 0) + len(triples))
                                    if progress else None)
            sent[graph] = sent.get(graph, 0) + len(triples)
        if pending is not None:
            pending.result()
    return sent


def _send(
    client: httpx.Client,
    method: str,
    store: str,
    graph: str,
    body: bytes,
    attempts: int,
    before: int,
    size: int,
    done: Callable[[], None] | None = None,
) -> None:
    """One chunk, tried ``attempts`` times on a 5xx or a broken connection."""
    where = f"{method} of triples {before + 1:,}–{before + size:,} of {graph} to {store}"
    tried = 0
    for attempt in range(1, attempts + 1):
        tried = attempt
        try:
            r = client.request(
                method, store, params={"graph": graph}, content=body, headers={"Content-Type": "application/n-triples"}
            )
        except httpx.TimeoutException:
            problem = f"no answer within {client.timeout.read:g} s"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if r.status_code in (200, 201, 204):
                if done is not None:
                    done()
                return
            problem = f"{r.status_code} {r.reason_phrase} {_text(r)}".strip()
            if r.status_code not in TRANSIENT:  # the store refuses this request as such: trying again will not help
                break
        if attempt < attempts:
            time.sleep(min(2.0**attempt, 30.0))
    tries = f" ({tried} tries)" if tried > 1 else ""
    raise PublishError(
        f"{where} failed{tries}: {problem}. The store's copy of this graph may be incomplete now; "
        "run kg publish again."
    )


def _text(r: httpx.Response) -> str:
    """The store's answer in one line: its message without HTML markup."""
    import re

    text = re.sub(r"<[^>]+>", " ", r.text)
    return " ".join(text.split())[:300]
