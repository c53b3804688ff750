"""Where a query runs: one small policy over named, typed lanes.

::

    request ──▶ remote backend set? ──yes──▶ REMOTE   (the store's own time limit, ours around it)
                   │ no
                   ▼
               bounded? ─────────yes──────▶ INLINE   (server process, no hand-off; bounded by rows,
                   │ no                                 so it cannot run long)
                   ▼
               a saved query or a page? ─yes─▶ OWN    (a worker pool of its own, killed at the deadline)
                   │ no
                   ▼
               shape ran into the limit? ─yes─▶ LIMIT  (a worker pool of its own, lowest priority)
                   │ no
                   ▼
               shape seen to run long? ─yes─▶ LONG     (a worker pool of its own, killed at the deadline)
                   │ no
                   ▼
                 WORKER                      (worker processes, killed at the deadline)

"Bounded" means: an entity page while the store's largest degree keeps an entity's
description small, or a query on ``/sparql`` that is a lookup of a few patterns anchored on
IRIs (:func:`kg.query.shape.is_bounded_lookup`) while the store's out-degrees keep it small.
Saved queries and pages run in workers of their own (OWN), so they never wait behind anyone's
text; everything else in the other workers. The time limit kills any of them. A
shape whose query ran into the time limit gets a pool of its own (LIMIT): queries that will be
stopped anyway cannot hold the workers of queries that will finish (``bench/REPORT.md``
measures the load test with and without it). For shapes not seen before, the WORKER pool hands
over a worker whose query has run long (a fresh one is forked in its place), and a query whose
shape was marked while it waited moves to that shape's lane (``lane_of_shape``, asked again).
``kg query`` (``in_process``) runs every query INLINE: it answers one query and the user can
interrupt it.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass, field

from .shape import is_bounded_lookup, shape_of

SHAPES_KEPT = 4096  # long-running query shapes remembered, least recently marked dropped first


class Kind(enum.Enum):
    """Whose query it is."""

    SPARQL = "sparql"  # anyone's text, on /sparql
    SAVED = "saved"  # a saved query with its parameters bound
    LOOKUP = "lookup"  # an entity page's description of one IRI


class Lane(enum.Enum):
    """Where a query runs."""

    INLINE = "inline"
    OWN = "own"
    WORKER = "worker"
    LONG = "long"
    LIMIT = "limit"
    REMOTE = "remote"


class ShapeMemory:
    """The query shapes seen to run long, least recently marked forgotten first."""

    def __init__(self, capacity: int = SHAPES_KEPT):
        self.capacity = capacity
        self._shapes: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, shape: object) -> bool:
        return shape in self._shapes

    def __len__(self) -> int:
        return len(self._shapes)

    def mark(self, shape: str) -> None:
        self._shapes[shape] = None
        self._shapes.move_to_end(shape)
        while len(self._shapes) > self.capacity:
            self._shapes.popitem(last=False)


@dataclass
class Placement:
    """The policy: which lane a request of a kind takes (see the module's diagram)."""

    remote: bool = False
    in_process: bool = False
    lookup_patterns: int = 0  # anchored patterns a /sparql lookup may have to run inline (0: none)
    entity_inline: bool = False  # entity pages run inline (the store's degrees are small)
    long_lane: bool = True  # a LONG pool exists; without it long shapes stay in WORKER
    limit_lane: bool = True  # a LIMIT pool exists; without it such shapes go where they would otherwise
    own_lane: bool = False  # an OWN pool exists for saved queries and pages; without it they share WORKER
    long_shapes: ShapeMemory = field(default_factory=ShapeMemory)
    limit_shapes: ShapeMemory = field(default_factory=ShapeMemory)

    def place(self, query: str, kind: Kind) -> tuple[Lane, str]:
        """Return the lane of ``query`` and its shape when the shape decided it (else "")."""
        if self.remote:
            return Lane.REMOTE, ""
        if self.in_process:
            return Lane.INLINE, ""
        if kind is Kind.LOOKUP and self.entity_inline:
            return Lane.INLINE, ""
        if kind is Kind.SPARQL and self.lookup_patterns and is_bounded_lookup(query, self.lookup_patterns):
            return Lane.INLINE, ""
        if kind is not Kind.SPARQL and self.own_lane:
            return Lane.OWN, ""  # our own queries (saved, pages) never wait behind anyone's text
        shape = shape_of(query)
        return self.lane_of_shape(shape), shape

    def lane_of_shape(self, shape: str) -> Lane:
        """The lane of an ad-hoc query of ``shape``, by what queries of that shape have shown so far
        (asked again when a worker is free for it: a shape marked while it waited moves it)."""
        if self.limit_lane and shape in self.limit_shapes:
            return Lane.LIMIT
        return Lane.LONG if self.long_lane and shape in self.long_shapes else Lane.WORKER
