"""Parse a DCAT description as a CKAN portal harvesting it does: run under CKAN's Python (.venv/ckan).

Usage: ``python ckan_harvest.py DESCRIPTION.ttl WORK_DIR`` prints one JSON object:

- ``registers``: CKAN's default licence register (id → url and title) on an en and on a ja portal;
- ``portals``: for each kind of portal, the datasets that ckanext-dcat's DCAT-AP 3 parser
  (``euro_dcat_ap_3``) makes of the description:
  - ``en`` and ``ja``: CKAN as installed, ``ckan.locale_default`` = en (CKAN's default) or ja;
  - ``multilingual``: a ja + en portal with ckanext-scheming and translated title and description
    (the fields ckanext-dcat fills from every language of dct:title and dct:description).

Imports CKAN, so it cannot run in the project's own environment (tests/test_ckan.py runs it).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from ckan.common import config
from ckan.lib.i18n import get_ckan_i18n_dir
from ckan.model.license import LicenseRegister
from ckanext.dcat.processors import RDFParser
from flask import Flask
from flask_babel import Babel

# A ja + en portal's dataset schema: ckanext-dcat keeps every language of a field whose
# validators are ckanext-fluent's (title_translated / notes_translated), as in its own
# dcat_ap_multilingual.yaml, for the languages this portal's forms have.
SCHEMA = """\
scheming_version: 2
dataset_type: dataset
about: A ja + en portal
form_languages: [ja, en]
dataset_fields:
- field_name: title_translated
  label: {ja: タイトル, en: Title}
  validators: fluent_text
  output_validators: fluent_text_output
- field_name: name
  label: URL
  preset: dataset_slug
- field_name: notes_translated
  label: {ja: 説明, en: Description}
  validators: fluent_text
  output_validators: fluent_text_output
resource_fields:
- field_name: url
  label: URL
"""


def portal_app() -> Flask:
    """CKAN's translations as its Flask app sets them up (ckan.config.middleware.flask_app): the
    licence register's titles are in the portal's default language, as in a harvest job."""
    app = Flask("ckan")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = get_ckan_i18n_dir()
    app.config["BABEL_DOMAIN"] = "ckan"
    Babel(app, locale_selector=lambda: config.get("ckan.locale_default"))
    return app


def register() -> dict:
    return {k: {"url": v.url, "title": str(v.title)} for k, v in LicenseRegister().items()}


def parse(text: str) -> list[dict]:
    with portal_app().test_request_context():
        parser = RDFParser(profiles=["euro_dcat_ap_3"])
        parser.parse(text, _format="turtle")
        return list(parser.datasets())


def main(description: Path, work: Path) -> dict:
    text = description.read_text(encoding="utf-8")
    registers, portals = {}, {}
    for lang in ("en", "ja"):
        config["ckan.locale_default"] = lang
        with portal_app().test_request_context():
            registers[lang] = register()
        portals[lang] = parse(text)

    import ckan.plugins as plugins

    schema = work / "ja_en_schema.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    config.update(
        {
            "ckan.locale_default": "ja",
            "ckan.locales_offered": "ja en",
            "SECRET_KEY": "test-only",
            # CKAN refuses to load plugins without these set; the parser uses neither (loading
            # tries Solr once and logs that it is absent: silenced below)
            "sqlalchemy.url": "sqlite://",
            "solr_url": "http://127.0.0.1:9/solr",
            "ckan.site_url": "http://127.0.0.1",
            "ckan.webassets.path": str(work / "webassets"),
            "scheming.dataset_schemas": schema.as_uri(),
            "scheming.presets": "ckanext.scheming:presets.json",
        }
    )
    logging.getLogger("ckan.lib.search").setLevel(logging.CRITICAL)
    plugins.load("scheming_datasets")
    portals["multilingual"] = parse(text)
    return {"registers": registers, "portals": portals}


if __name__ == "__main__":
    out = main(Path(sys.argv[1]), Path(sys.argv[2]))
    json.dump(out, sys.stdout, ensure_ascii=False, default=str)
