"""Start a real Virtuoso (Debian package virtuoso-opensource) on loopback for tests and benchmarks.

Imports nothing from the test suite, so ``bench/`` can use it too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from .webserver import free_port

TEMPLATE = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
ISQL = shutil.which("isql-vt") or shutil.which("isql")
BINARY = shutil.which("virtuoso-t")

# Answers are never cut by Virtuoso itself: its result-row cap and its "anytime" execution limit
# (which answers 200 with partial rows) are lifted; the server's own KG_MAX_ROWS / KG_QUERY_TIMEOUT apply.
UNLIMITED = {"ResultSetMaxRows": "1000000000", "MaxQueryExecutionTime": "0", "MaxQueryCostEstimationTime": "0"}


def available() -> bool:
    return bool(BINARY and ISQL and TEMPLATE.exists())


def _set(ini: str, key: str, value: str) -> str:
    """Set ``key = value`` where the template has it (first occurrence), else fail loudly."""
    new, n = re.subn(rf"(?m)^{key}(\s*)=[^\n]*$", f"{key}\\1= {value}", ini, count=1)
    if not n:
        raise KeyError(f"{key} is not in {TEMPLATE}")
    return new


class Virtuoso:
    """A throw-away Virtuoso: database in ``folder``, SQL and HTTP ports free ports on 127.0.0.1.

    ``settings`` override lines of Debian's virtuoso.ini (e.g. ``NumberOfBuffers``); ``dirs``
    are added to ``DirsAllowed`` (where the bulk loader may read files).
    """

    def __init__(self, folder: Path, settings: dict[str, str] | None = None, dirs: tuple[Path, ...] = ()):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.sql_port = free_port()
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        ini = TEMPLATE.read_text(encoding="utf-8", errors="replace")
        ini = re.sub(r"/var/lib/virtuoso-opensource-7/db", str(folder), ini)
        ini = re.sub(r"(?m)^ServerPort(\s*)=\s*1111", f"ServerPort\\1= 127.0.0.1:{self.sql_port}", ini)
        ini = re.sub(r"(?m)^ServerPort(\s*)=\s*8890", f"ServerPort\\1= 127.0.0.1:{self.http_port}", ini)
        allowed = ", ".join([".", str(folder), *map(str, dirs), "/usr/share/virtuoso-opensource-7/vad"])
        ini = re.sub(r"(?m)^DirsAllowed(\s*)=.*$", f"DirsAllowed\\1= {allowed}", ini)
        for key, value in (settings or {}).items():
            ini = _set(ini, key, value)
        (folder / "virtuoso.ini").write_text(ini, encoding="utf-8")
        self.proc = subprocess.Popen([BINARY, "+foreground", "+configfile", str(folder / "virtuoso.ini")],
                                     cwd=folder, stdout=open(folder / "stdout.log", "w"),  # noqa: SIM115
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("virtuoso exited: " + (folder / "stdout.log").read_text()[-2000:])
            try:
                if httpx.get(f"{self.url}/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError("virtuoso did not start")
        # Let anonymous Graph Store Protocol writes in (loopback only, throw-away database).
        self.sql('GRANT SPARQL_UPDATE TO "SPARQL";')
        self.sql("DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);")

    @property
    def sparql(self) -> str:
        return f"{self.url}/sparql"

    @property
    def graph_store(self) -> str:
        return f"{self.url}/sparql-graph-crud"

    def sql(self, statement: str, timeout: float = 60) -> str:
        result = subprocess.run([ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statement}"],
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0 or "*** Error" in result.stdout + result.stderr:
            raise RuntimeError(f"isql failed: {result.stdout} {result.stderr}")
        return result.stdout

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
