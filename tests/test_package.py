"""Install as users install: the wheel in a fresh venv, run from an empty folder (issue 10).

One wheel and one venv for the module (installing the dependencies takes a minute or two with a
warm pip cache). The commands run are the README's "Validate your own data" blocks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from .conftest import FIXTURES, ROOT
from .readme_blocks import PIP_LINE, section_blocks
from .webserver import free_port

VALID = FIXTURES / "valid" / "chiyoda.ttl"
INVALID = FIXTURES / "invalid" / "bad-check-digit.ttl"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("wheel-build")
    # build from a copy of the tree so the source checkout gets no build/ folder
    src = build / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", "dist", "build", ".git", "*.egg-info",
                                                              "__pycache__", ".pytest_cache", ".hypothesis",
                                                              "bench", "store", ".ruff_cache", "node_modules",
                                                              "artifacts"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out)], cwd=src,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (found,) = out.glob("tokyo_sme_kg-*.whl")
    return found


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel (and its dependencies) installed; its bin/ folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    result = subprocess.run([*pip, str(wheel)], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return env_dir / "bin"


def _env(bin_dir: Path) -> dict[str, str]:
    """The user's environment: the venv first on PATH, nothing of ours (no KG_* settings, no PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _sh(command: str, cwd: Path, bin_dir: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(bin_dir), capture_output=True, text=True,
                          timeout=timeout)


def _folder(tmp_path: Path, fixture: Path) -> Path:
    """An empty folder of a publisher with one file under rdf/ (the README's paths)."""
    work = tmp_path / "work"
    (work / "rdf").mkdir(parents=True)
    shutil.copy(fixture, work / "rdf" / fixture.name)
    return work


def _kg_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("kg ")]


def test_wheel_carries_the_resources(wheel):
    import zipfile
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("kg/resources/ontology/shapes.ttl", "kg/resources/ontology/kg.ttl",
                 "kg/resources/ontology/shapes.version.json", "kg/resources/data/municipalities.csv",
                 "kg/resources/queries/law-status.rq", "kg/web/templates/base.html"):
        assert name in names, name


def test_readme_install_line_is_the_same_everywhere():
    blocks = section_blocks()
    cli_pip = [line for line in blocks["cli"] if "pip install" in line]
    gh = [step["run"] for step in blocks["github"]["jobs"]["kg-validate"]["steps"] if "run" in step]
    gl = blocks["gitlab"]["kg-validate"]["script"]
    assert len(cli_pip) == 1 and PIP_LINE.fullmatch(cli_pip[0])
    assert gh[0] == cli_pip[0] and gl[0] == cli_pip[0]  # the install step; the test installs the wheel instead
    # every kg command the CI jobs run is one the CLI block shows (and the tests below run)
    assert set(gh[1:]) | set(gl[1:]) <= set(blocks["cli"])


def test_readme_yaml_is_valid_ci_config():
    """The jobs shown are valid GitHub workflow and GitLab CI files (schemas shipped by check-jsonschema)."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema
    blocks = section_blocks()
    for block, name in (("github", "vendor.github-workflows"), ("gitlab", "vendor.gitlab-ci")):
        schema = get_builtin_schema(name)
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(blocks[block])]
        assert not errors, (block, errors)
    broken = dict(blocks["gitlab"]["kg-validate"], scrip=["x"])  # the check can fail
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors({"kg-validate": broken}))


def test_readme_cli_block_on_conforming_data(bin_dir, tmp_path):
    work = _folder(tmp_path, VALID)
    for command in _kg_lines(section_blocks()["cli"]):
        result = _sh(command, work, bin_dir)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    sarif = json.loads((work / "kg-shapes.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"] == []
    assert not (work / "dist").exists()  # validating writes nothing else


def test_readme_cli_block_on_violating_data(bin_dir, tmp_path):
    work = _folder(tmp_path, INVALID)
    for command in _kg_lines(section_blocks()["cli"]):
        result = _sh(command, work, bin_dir)
        expected = 0 if "--version" in command else 1
        assert result.returncode == expected, (command, result.stdout, result.stderr)
        if "--format github" in command:
            assert f"::error file=rdf/{INVALID.name},line=" in result.stdout
            assert "検査数字" in result.stdout  # the Japanese message too
        if "--version" in command:
            assert "shapes 1." in result.stdout or "shapes " in result.stdout
    sarif = json.loads((work / "kg-shapes.sarif").read_text(encoding="utf-8"))
    locations = [r["locations"][0]["physicalLocation"] for r in sarif["runs"][0]["results"]]
    assert locations and all(loc["artifactLocation"]["uri"] == f"rdf/{INVALID.name}" for loc in locations)


def test_unusable_input_and_version_from_the_wheel(bin_dir, tmp_path):
    work = _folder(tmp_path, VALID)
    missing = _sh("kg validate rdf/missing.ttl", work, bin_dir)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    version = _sh("kg validate --version", work, bin_dir)
    shapes = (ROOT / "ontology" / "shapes.ttl").read_text(encoding="utf-8")
    first = version.stdout.splitlines()
    assert first[0].startswith("kg (tokyo-sme-kg) ")
    assert first[1].split()[1] in shapes  # the shapes version stated in ontology/shapes.ttl


def test_defaults_come_from_the_package(bin_dir, tmp_path):
    """No source tree: tables, ontology and queries from the installed package; dist/ in the current folder."""
    work = _folder(tmp_path, VALID)
    probe = ("from kg.settings import load_settings; s = load_settings(); "
             "print(s.data_dir, s.ontology_dir, s.queries_dir, s.dist_dir.resolve(), sep='\\n')")
    result = _sh(f'python -c "{probe}"', work, bin_dir)
    assert result.returncode == 0, result.stderr
    data, ontology, queries, dist = result.stdout.splitlines()
    venv = str(bin_dir.parent)
    assert all(p.startswith(venv) and "kg/resources/" in p for p in (data, ontology, queries))
    assert Path(dist) == work.resolve() / "dist"


def test_readme_plain_pyshacl_block(bin_dir, tmp_path):
    for fixture, expected in ((VALID, 0), (INVALID, 1)):
        work = _folder(tmp_path / fixture.stem, fixture)
        for command in section_blocks()["pyshacl"]:
            command = command.replace("rdf/chiyoda.ttl", f"rdf/{fixture.name}")
            result = _sh(command, work, bin_dir)
            want = expected if command.startswith("pyshacl") else 0
            assert result.returncode == want, (command, result.stdout[-2000:], result.stderr[-2000:])
        assert (work / "tokyo-sme-kg-shapes.ttl").read_bytes() == (ROOT / "ontology" / "shapes.ttl").read_bytes()


@pytest.fixture(scope="module")
def built_from_wheel(bin_dir, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("empty")
    result = _sh("kg build --out out", work, bin_dir, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["out"]
    return work / "out"


def test_build_from_wheel_is_byte_identical_to_source_build(built_from_wheel, built):
    # the session's source build (test_build.py checks it is byte-identical to `python -m kg.cli build`)
    source = built
    ours = {p.name: p.read_bytes() for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith(".")}
    theirs = {p.name: p.read_bytes() for p in sorted(built_from_wheel.iterdir()) if p.is_file()}
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert not different, different


def test_serve_from_wheel(bin_dir, built_from_wheel, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([str(bin_dir / "kg"), "serve", "--dist", str(built_from_wheel), "--port", str(port)],
                            cwd=work, env=_env(bin_dir), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("server did not start: " + (tmp_path / "serve.log").read_text())
        page = httpx.get(f"{url}/id/municipality/131016", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200 and "千代田区" in page.text
        shapes = httpx.get(f"{url}/shapes", headers={"Accept": "text/turtle"}, timeout=30)
        printed = subprocess.run([str(bin_dir / "kg"), "shapes"], cwd=work, env=_env(bin_dir), capture_output=True,
                                 timeout=300)
        assert shapes.status_code == 200 and shapes.content == printed.stdout
        queries = httpx.get(f"{url}/api/queries", headers={"Accept": "application/json"}, timeout=30)
        assert queries.status_code == 200 and "law-status" in queries.text  # saved queries from the wheel
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_broken_installation_is_an_internal_error(bin_dir, tmp_path):
    """A real internal failure: the installed package's own shapes file is corrupt (exit 70, one line)."""
    work = _folder(tmp_path, VALID)
    installed = Path(_sh("kg shapes --path", work, bin_dir).stdout.strip())
    assert installed.is_file() and str(bin_dir.parent) in str(installed)
    original = installed.read_bytes()
    try:
        # cut inside a statement (the last " ;" before the middle), as a broken install would be
        installed.write_bytes(original[: original.rindex(b" ;", 0, len(original) // 2)])
        result = _sh(f"kg validate rdf/{VALID.name}", work, bin_dir)
        assert result.returncode == 70, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "internal error" in lines[0] and "shapes.ttl" in lines[0], result.stderr
        debug = _sh(f"KG_DEBUG=1 kg validate rdf/{VALID.name}", work, bin_dir)
        assert debug.returncode == 70 and "Traceback" in debug.stderr
    finally:
        installed.write_bytes(original)
    assert _sh(f"kg validate rdf/{VALID.name}", work, bin_dir).returncode == 0
