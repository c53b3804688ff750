"""Tokyo SME Policy Knowledge Graph: curated tables → RDF → validation, reasoning, dumps, SPARQL."""

__version__ = "0.1.0"

# Dates of the dataset description (DCAT dct:issued / dct:modified): the first release, and the
# release of this version. Set by hand at release time, so that builds stay byte-identical.
FIRST_RELEASE_DATE = "2026-11-23"
RELEASE_DATE = "2026-11-25"
