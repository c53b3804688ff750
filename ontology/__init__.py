"""Package data: this folder is installed as the package kg.resources.ontology (see pyproject.toml and kg/resources)."""
