"""data/README.md's schema section is generated from the CSVW metadata and must not drift from it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kg.cli import app
from kg.pipeline.table_schema import METADATA_FILE, read_schema
from kg.pipeline.tabledocs import END, START, with_schema

from .conftest import ROOT


def test_readme_schema_section_matches_the_metadata():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert readme.count(START) == 1 and readme.count(END) == 1
    assert with_schema(readme, read_schema(ROOT / "data" / METADATA_FILE)) == readme, "run `kg docs`"


def test_every_column_appears_in_the_readme():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(START) : readme.index(END)]
    for table in read_schema(ROOT / "data" / METADATA_FILE).tables:
        block = section[section.index(f"### `{table.file}`") :]
        for col in table.columns:
            assert f"| `{col.name}` | {col.titles['ja']} / {col.titles['en']} |" in block, (table.file, col.name)


def test_kg_docs_check_fails_when_stale_and_docs_repairs(data_copy):
    meta = data_copy / METADATA_FILE
    doc = json.loads(meta.read_text(encoding="utf-8"))
    doc["tables"][0]["tableSchema"]["columns"][0]["titles"]["en"] = "Document number"
    meta.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    env = {"KG_DATA_DIR": str(data_copy)}
    runner = CliRunner()
    stale = runner.invoke(app, ["docs", "--check"], env=env)
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert runner.invoke(app, ["docs"], env=env).exit_code == 0
    assert "文書番号 / Document number" in (data_copy / "README.md").read_text(encoding="utf-8")
    assert runner.invoke(app, ["docs", "--check"], env=env).exit_code == 0
