"""Package data: this folder is installed as the package kg.resources.data (see pyproject.toml and kg/resources)."""
