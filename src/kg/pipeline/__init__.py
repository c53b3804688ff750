"""Building the graph: tables → checks → mapping → reasoning → dumps; synthetic editions; publishing.

Data flows one way: :mod:`.table_schema` reads the tables' CSVW metadata, :mod:`.tables` reads and
checks the tables, :mod:`.mapping` turns records into RDF, :mod:`.reasoning` runs OWL RL,
:mod:`.builder` validates (through :mod:`kg.validation`) and writes the dumps atomically.
:mod:`.synth` makes larger synthetic editions; :mod:`.publishing` puts the dumps in a remote store.
"""

from .builder import BuildError, Graphs, OutOfMemory, assemble, build, load_ontology, load_shapes
from .publishing import publish
from .reasoning import REASONERS, infer
from .synth import synthesize
from .table_schema import METADATA_FILE, read_schema
from .tabledocs import MarkersMissing, with_schema
from .tables import DataError, load_records

__all__ = [
    "METADATA_FILE",
    "REASONERS",
    "BuildError",
    "DataError",
    "Graphs",
    "MarkersMissing",
    "OutOfMemory",
    "assemble",
    "build",
    "infer",
    "load_ontology",
    "load_records",
    "load_shapes",
    "publish",
    "read_schema",
    "synthesize",
    "with_schema",
]
