"""Tokyo SME Policy Knowledge Graph: curated tables → RDF → validation, reasoning, dumps, SPARQL."""

__version__ = "0.1.0"
