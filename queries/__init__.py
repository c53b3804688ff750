"""Package data: this folder is installed as the package kg.resources.queries (see pyproject.toml and kg/resources)."""
