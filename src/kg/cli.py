"""Command-line interface: ``kg build | validate | shapes | query | stats | serve | docs``.

Exit codes, the same for every command: 0 success (the data conforms), 1 SHACL violations found,
2 unusable input or usage (bad or missing file, unknown format, bad configuration), 70 an internal
error (EX_SOFTWARE: a bug or a broken installation), reported in one line; ``kg --debug …`` or
``KG_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .settings import Settings, load_settings

if TYPE_CHECKING:
    from rdflib import Graph

    from .query import Kind, QueryResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Tokyo SME Policy Knowledge Graph: build, validate, query and serve.",
)
err = Console(stderr=True)
EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 70
_ABORT = (typer.Abort, KeyboardInterrupt)
_debug = {"on": False}


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error (KG_DEBUG=1).")
    ] = False,
) -> None:
    """Tokyo SME Policy Knowledge Graph: build, validate, query and serve."""
    _debug["on"] = debug


def main() -> None:
    """Run the CLI; an unexpected exception exits 70 with one line naming it (traceback with --debug)."""
    import traceback

    try:
        code = app(standalone_mode=False)
    except _ABORT:
        err.print("aborted")
        code = 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns a crash into exit 70
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()  # a usage error (bad option, unknown command): exit 2, as click itself does
            sys.exit(exit_code)
        if _debug["on"] or os.environ.get("KG_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        place = f" (in {Path(where.filename).name}:{where.lineno})" if where else ""
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        sys.stderr.write(
            f"kg: internal error{place}: {type(exc).__name__}: {first} — please report it; "
            f"run with --debug or KG_DEBUG=1 for the traceback\n"
        )
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else 0)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings().with_overrides(**overrides)
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _peak_mib() -> float:
    """This process's peak resident memory so far, MiB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@app.command()
def build(
    out: Annotated[Path | None, typer.Option(help="Output folder (default: dist/ or KG_DIST_DIR).")] = None,
    reason: Annotated[bool, typer.Option("--reason/--no-reason", help="Add the OWL RL inferred graph.")] = True,
    validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Check the graph with SHACL.")] = True,
    base_iri: Annotated[str | None, typer.Option(help="Base IRI (KG_BASE_IRI).")] = None,
    reasoner: Annotated[
        str | None, typer.Option(help="auto (by size), owlrl, compiled or reasonable (KG_REASONER).")
    ] = None,
    validator: Annotated[str | None, typer.Option(help="auto (by size), pyshacl or shacl (KG_VALIDATOR).")] = None,
) -> None:
    """Build the graph from data/ and ontology/ and write the dumps atomically."""
    from .pipeline import BuildError, DataError, OutOfMemory
    from .pipeline import build as run_build

    settings = _settings(base_iri=base_iri, reasoner=reasoner, validator=validator)
    from .pipeline import REASONERS
    from .validation import VALIDATORS

    engines = (("reasoner", settings.reasoner, REASONERS), ("validator", settings.validator, VALIDATORS))
    for what, name, known in engines:
        if name not in known:
            err.print(f"[red]configuration error:[/red] unknown {what} {name!r}; use one of {', '.join(known)}")
            raise typer.Exit(2)
    start = time.perf_counter()
    try:
        manifest, _ = run_build(
            settings, out, reason=reason, validate=validate,
            progress=lambda text: err.print(f"  {time.perf_counter() - start:6.1f} s {_peak_mib():6.0f} MiB  {text}"),
        )  # fmt: skip
    except DataError as exc:
        err.print(f"[red]build failed, unusable tables:[/red] {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    except OutOfMemory as exc:
        err.print(f"[red]build failed:[/red] {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    except BuildError as exc:
        err.print(f"[red]build failed:[/red] {exc}")
        raise typer.Exit(EXIT_VIOLATIONS) from None
    target = Path(out or settings.dist_dir)
    counts = manifest["triples"]
    err.print(
        f"built {target}/ in {time.perf_counter() - start:.1f} s — version {manifest['version']}, triples: {counts}"
    )
    for name in sorted(manifest["files"]):
        err.print(f"  {target / name}")


class ReportFormat(str, Enum):
    text = "text"
    turtle = "turtle"
    json = "json"
    junit = "junit"
    github = "github"
    sarif = "sarif"


def _versions() -> tuple[str, str, str]:
    """Return (package version, shapes version, shapes versionIRI) of the packaged shapes."""
    from importlib.metadata import PackageNotFoundError, version

    from rdflib import Graph

    from .resources import resource_dir
    from .validation import SHAPES_FILE, read_version

    try:
        package = version("tokyo-sme-kg")
    except PackageNotFoundError:  # imported from a source tree that is not installed
        package = "0+unknown"
    return (package, *read_version(Graph().parse(resource_dir("ontology") / SHAPES_FILE, format="turtle")))


def _print_version(value: bool) -> None:
    if value:
        package, shapes, iri = _versions()
        sys.stdout.write(f"kg (tokyo-sme-kg) {package}\nshapes {shapes} <{iri}>\n")
        raise typer.Exit(EXIT_OK)


def _load_shapes(settings: Settings, shapes: Path | None, cap: int) -> Graph:
    """Return the shapes graph: the file given (unusable: exit 2), else the configured or packaged one."""
    from rdflib import Graph

    from .resources import resource_dir
    from .validation import SHAPES_FILE, InputError, load_rdf

    if shapes is not None:
        return load_rdf([shapes], cap)
    path = settings.ontology_dir / SHAPES_FILE
    try:
        return Graph().parse(path, format="turtle")
    except Exception as exc:
        if settings.ontology_dir.resolve() == resource_dir("ontology").resolve():
            raise RuntimeError(f"the packaged shapes {path} cannot be read: {exc}") from exc  # broken install
        raise InputError(f"{path} (KG_ONTOLOGY_DIR): cannot read the shapes: {exc}") from None


class Inference(str, Enum):
    none = "none"
    rdfs = "rdfs"
    owlrl = "owlrl"


@app.command()
def validate(
    files: Annotated[list[Path] | None, typer.Argument(help="RDF files (ttl, nt, jsonld, trig, nq, rdf).")] = None,
    shapes: Annotated[Path | None, typer.Option(help="Shapes file (default: ontology/shapes.ttl).")] = None,
    format: Annotated[ReportFormat, typer.Option("--format", help="Report format.")] = ReportFormat.text,
    inference: Annotated[Inference, typer.Option(help="Inference before validation.")] = Inference.none,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to a file.")] = None,
    engine: Annotated[str | None, typer.Option(help="pyshacl (reference) or shacl (fast); KG_VALIDATOR.")] = None,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print package and shapes versions."),
    ] = False,
) -> None:
    """Validate the project graph, or any RDF files, against the SHACL shapes.

    Exit 0: conforms; 1: violations; 2: unusable input; 70: internal error.
    Formats github (workflow annotations) and sarif (SARIF 2.1.0) locate each result at the line
    where its focus node is first stated in the files.
    """
    from .pipeline import DataError, assemble, load_ontology
    from .validation import InputError, format_report, github, load_rdf, run_validation, sarif

    settings = _settings(validator=engine)
    cap = settings.validate_max_mb * 1024 * 1024
    try:
        shapes_graph = _load_shapes(settings, shapes, cap)
        if files:
            data = load_rdf(list(files), cap)
            ontology = load_ontology(settings)
        else:
            graphs = assemble(settings, reason=False)
            data, ontology = graphs.data + graphs.ontology, None
    except (InputError, DataError) as exc:
        err.print(f"[red]unusable input:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        report = run_validation(data, shapes_graph, ontology, inference=inference.value, engine=settings.validator)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if format == ReportFormat.github:
        text = github(report, list(files or []), Path.cwd())
    elif format == ReportFormat.sarif:
        package, shapes_version, _ = _versions()
        text = sarif(report, list(files or []), package, shapes_version, Path.cwd())
    else:
        text = format_report(report, format.value)
    if output:  # temporary file, then rename: never a half-written report
        tmp = output.with_name(f".{output.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    raise typer.Exit(EXIT_OK if report.conforms else EXIT_VIOLATIONS)


@app.command()
def shapes(
    path: Annotated[bool, typer.Option("--path", help="Print where the packaged shapes file is.")] = False,
    ontology: Annotated[
        bool, typer.Option("--ontology", help="Print the ontology (kg.ttl) instead, for subclass reasoning.")
    ] = False,
    check: Annotated[bool, typer.Option("--check", help="Check the shapes against their version record.")] = False,
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone",
            help="For any SHACL engine (JavaScript ones too): no owl:imports, the subclass axioms included.",
        ),
    ] = False,
    core: Annotated[
        bool,
        typer.Option("--core", help="With --standalone: leave out the SHACL-SPARQL constraints."),
    ] = False,
    set_version: Annotated[
        str | None, typer.Option("--set-version", help="Developers: state a new shapes version X.Y.Z and record it.")
    ] = None,
) -> None:
    """Print our SHACL shapes (Turtle) for use with any SHACL processor, e.g. `kg shapes > shapes.ttl`."""
    from .validation import SHAPES_FILE, ShapesVersionError
    from .validation import check_shapes_record as check_record
    from .validation import set_shapes_version as write_version

    settings = _settings()
    file = settings.ontology_dir / ("kg.ttl" if ontology else SHAPES_FILE)
    try:
        if set_version:
            write_version(settings.ontology_dir, set_version)
            err.print(f"{file}: version {set_version}, recorded in {settings.ontology_dir}")
        if check or set_version:
            version, iri = check_record(settings.ontology_dir)
            err.print(f"shapes {version} <{iri}>: matches its record")
            return
    except ShapesVersionError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_VIOLATIONS) from None
    if path:
        sys.stdout.write(f"{file}\n")
        return
    if core and not standalone:
        err.print("[red]--core goes with --standalone[/red]")
        raise typer.Exit(2)
    if standalone and not ontology:
        from rdflib import Graph

        from .validation import standalone_shapes

        g = standalone_shapes(
            Graph().parse(file, format="turtle"), Graph().parse(settings.ontology_dir / "kg.ttl"), core=core
        )
        sys.stdout.buffer.write(g.serialize(format="turtle", encoding="utf-8"))
        return
    sys.stdout.buffer.write(file.read_bytes())


class ResultFormat(str, Enum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"


def _param_dict(params: list[str]) -> dict[str, str]:
    out = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep or not key:
            err.print(f"[red]--param {p!r}:[/red] expected NAME=VALUE")
            raise typer.Exit(2)
        out[key] = value
    return out


@app.command()
def query(
    file: Annotated[str | None, typer.Argument(help="A .rq file, or - for standard input.")] = None,
    saved: Annotated[str | None, typer.Option("--saved", help="Name of a saved query in queries/.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Saved-query parameter NAME=VALUE.")] = None,
    format: Annotated[ResultFormat, typer.Option("--format", help="Output format.")] = ResultFormat.table,
    dist: Annotated[Path | None, typer.Option(help="Built dataset folder (default dist/).")] = None,
) -> None:
    """Run SPARQL on the built graph (ontology + data + inferred) and print the results.

    The query goes through the server's query service and rules (read-only, no SERVICE, the row
    limit KG_MAX_ROWS, the same serializers), run in this process: no worker processes.
    """
    import asyncio

    from .query import (
        Kind,
        ParameterError,
        QueryDefinitionError,
        QueryError,
        QuerySyntaxError,
        StoreError,
        load_saved_queries,
        term_to_tuple,
    )

    settings = _settings(dist_dir=dist)
    bindings: dict[str, tuple] = {}
    kind = Kind.SPARQL  # anyone's text, as on /sparql
    if saved:
        try:
            registry = load_saved_queries(settings.queries_dir)
        except QueryDefinitionError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        if saved not in registry:
            err.print(f"[red]no saved query {saved!r}[/red]; known: {', '.join(registry)}")
            raise typer.Exit(2)
        text = registry[saved].text
        kind = Kind.SAVED
        try:
            bindings = {k: term_to_tuple(v) for k, v in registry[saved].bindings(_param_dict(param or [])).items()}
        except ParameterError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    elif file == "-":
        text = sys.stdin.read()
    elif file:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"[red]cannot read {file}:[/red] {exc}")
            raise typer.Exit(2) from None
    else:
        err.print("[red]give a query file, - or --saved NAME[/red]")
        raise typer.Exit(2)
    # graphs as Turtle; solutions in the asked format (the table is drawn from JSON); ASK as JSON
    accept = ["text/turtle", _RESULT_MEDIA[format.value], _RESULT_MEDIA["json"]]
    try:
        result: QueryResult = asyncio.run(_answer(settings, text, accept, bindings, kind))
    except StoreError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except QuerySyntaxError as exc:
        err.print(f"[red]SPARQL syntax error:[/red] {exc}")
        raise typer.Exit(2) from None
    except QueryError as exc:
        err.print(f"[red]{type(exc).__name__}:[/red] {exc}")
        raise typer.Exit(2) from None
    if result.truncated:
        err.print(f"[yellow]result cut at the row limit of {settings.max_rows} (KG_MAX_ROWS)[/yellow]")
    if result.form == "ask":
        answer = bool(json.loads(result.body)["boolean"])
        sys.stdout.write(json.dumps({"boolean": answer}) + "\n" if format != ResultFormat.table else f"{answer}\n")
        return
    if result.form == "select" and format == ResultFormat.table:
        _print_table(json.loads(result.body))
        return
    sys.stdout.write(result.body.decode("utf-8"))


_RESULT_MEDIA = {
    "table": "application/sparql-results+json",
    "json": "application/sparql-results+json",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}


async def _answer(
    settings: Settings, text: str, accept: list[str], bindings: dict[str, tuple], kind: Kind
) -> QueryResult:
    """Answer one query through the query service (in this process), as the server would."""
    from .query import QueryRequest, QueryService, check_query, read_manifest

    service = QueryService(settings, str(read_manifest(settings.dist_dir)["version"]), in_process=True)
    try:
        await service.start()
        request = QueryRequest(query=text, accept=accept, bindings=bindings, max_rows=settings.max_rows)
        return await service.run(request, kind, client="cli", check=check_query)
    finally:
        await service.close()


def _print_table(doc: dict[str, Any]) -> None:
    """Print SPARQL JSON results as a table: each term's value (an IRI, a literal's text, a blank node's id)."""
    variables: list[str] = doc["head"]["vars"]
    table = Table(*variables, show_lines=False)
    count = 0
    for row in doc["results"]["bindings"]:
        table.add_row(*(row[v]["value"] if v in row else "" for v in variables))
        count += 1
    Console(width=200).print(table)
    err.print(f"{count} row(s)")


@app.command()
def stats(dist: Annotated[Path | None, typer.Option(help="Built dataset folder (default dist/).")] = None) -> None:
    """Print the number of instances of each class (asserted and inferred)."""
    import pyoxigraph as ox

    from .query import StoreError, open_store, run_query

    settings = _settings(dist_dir=dist)
    try:
        store = open_store(settings.dist_dir)
    except StoreError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    q = "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class ORDER BY DESC(?n) ?class"
    table = Table("class", "instances")
    answer = run_query(store, q)
    assert isinstance(answer, ox.QuerySolutions)  # a SELECT
    for row in answer:
        table.add_row(row["class"].value, row["n"].value)
    Console(width=200).print(table)


@app.command()
def load(
    store: Annotated[
        Path | None,
        typer.Option(help="Folder of the on-disk store (default: DIST/store, where the server looks for it)."),
    ] = None,
    dist: Annotated[Path | None, typer.Option(help="Built dataset folder (default dist/).")] = None,
) -> None:
    """Build (or check) an on-disk store from the dumps, so a server restart is ready at once."""
    from .query import StoreError, ensure_answers, ensure_store, load_saved_queries, open_store

    settings = _settings(dist_dir=dist)
    store = store or settings.resolved_store_dir or settings.dist_dir / "store"
    start = time.perf_counter()
    try:
        rebuilt = ensure_store(settings.dist_dir, store)
    except StoreError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    verb = "built" if rebuilt else "checked (sound, up to date)"
    err.print(f"{verb} {store}/ in {time.perf_counter() - start:.1f} s; the server opens it with KG_STORE_DIR={store}")
    start = time.perf_counter()
    opened = open_store(settings.dist_dir, store, ensure=False)
    answers = ensure_answers(opened, store, load_saved_queries(settings.queries_dir))
    if answers:
        err.print(f"{len(answers)} precomputed answers ready in {store}/answers/ ({time.perf_counter() - start:.1f} s)")


@app.command()
def publish(
    to: Annotated[
        str, typer.Option("--to", help="Graph Store Protocol endpoint, e.g. http://host:8890/sparql-graph-crud")
    ],
    dist: Annotated[Path | None, typer.Option(help="Built dataset folder (default dist/).")] = None,
    user: Annotated[str | None, typer.Option(help="User for HTTP digest authentication.")] = None,
    password: Annotated[str | None, typer.Option(help="Password for HTTP digest authentication.")] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Triples per request (the first of a graph a PUT, then POSTs).")]
    = 50_000,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the store's answer to one request.")]
    = 600.0,
) -> None:
    """Load the dumps into a remote store: each named graph (ontology, data, inferred) in chunks."""
    from .pipeline import publish as put_graphs

    settings = _settings(dist_dir=dist)
    start = time.perf_counter()

    def progress(graph: str, sent: int) -> None:
        err.print(f"  {graph}: {sent:,} triples sent ({time.perf_counter() - start:.0f} s)", highlight=False)

    try:
        sent = put_graphs(settings.dist_dir, to, (user, password or "") if user else None, chunk, timeout,
                          progress=progress)
    except (RuntimeError, OSError) as exc:
        err.print(f"[red]publish failed:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    for graph, n in sent.items():
        err.print(f"  {graph}: {n} triples", highlight=False)
    err.print(f"published to {to} in {time.perf_counter() - start:.1f} s; "
              "serve from it with KG_BACKEND=<its SPARQL endpoint>")


@app.command()
def synth(
    scale: Annotated[int, typer.Option(help="About how many triples the built edition should have.")] = 100_000,
    out: Annotated[Path, typer.Option(help="Folder for the synthetic tables.")] = Path("bench/synthetic/data"),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same tables).")] = 1,
) -> None:
    """Write a synthetic national edition (tables like data/) for benchmarks."""
    from .pipeline import synthesize

    settings = _settings()
    counts = synthesize(scale, out, settings.data_dir, seed)
    err.print(f"wrote {out}/: {counts}; build it with KG_DATA_DIR={out} kg build --out DIR")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (KG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (KG_PORT).")] = None,
    dist: Annotated[Path | None, typer.Option(help="Built dataset folder (KG_DIST_DIR).")] = None,
    base_iri: Annotated[str | None, typer.Option(help="Base IRI (KG_BASE_IRI).")] = None,
    query_timeout: Annotated[float | None, typer.Option(help="Query time limit, s (KG_QUERY_TIMEOUT).")] = None,
    max_rows: Annotated[int | None, typer.Option(help="Row limit (KG_MAX_ROWS).")] = None,
    public_url: Annotated[str | None, typer.Option(help="Public root URL (KG_PUBLIC_URL).")] = None,
    workers: Annotated[int | None, typer.Option(help="Query worker processes (KG_WORKERS).")] = None,
    loop: Annotated[str | None, typer.Option(help="Event loop: auto, uvloop or asyncio (KG_LOOP).")] = None,
    server: Annotated[str | None, typer.Option(help="HTTP server: uvicorn or granian (KG_SERVER).")] = None,
    processes: Annotated[int | None, typer.Option(help="Server processes on the port (KG_PROCESSES).")] = None,
) -> None:
    """Serve the built graph over HTTP (SPARQL endpoint, saved queries, pages, dumps)."""
    settings = _settings(
        host=host,
        port=port,
        dist_dir=dist,
        base_iri=base_iri,
        query_timeout=query_timeout,
        max_rows=max_rows,
        public_url=public_url,
        workers=workers,
        loop=loop,
        server=server,
        processes=processes,
    )
    from .query import QueryDefinitionError, StoreError
    from .web import ServerUnavailable, run

    try:
        run(settings)
    except (StoreError, QueryDefinitionError, ServerUnavailable) as exc:
        err.print(f"[red]cannot serve:[/red] {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None


@app.command()
def docs(
    check: Annotated[bool, typer.Option("--check", help="Only compare; exit 1 if data/README.md is stale.")] = False,
) -> None:
    """Write the schema section of data/README.md from data/tables-metadata.json."""
    from .pipeline import METADATA_FILE, DataError, MarkersMissing, read_schema, with_schema

    readme = _settings().data_dir / "README.md"
    try:
        old = readme.read_text(encoding="utf-8")
        new = with_schema(old, read_schema(readme.parent / METADATA_FILE))
    except (DataError, MarkersMissing, OSError) as exc:
        err.print(f"[red]docs failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if check:
        if new != old:
            err.print(f"{readme} is out of date: run `kg docs`")
            raise typer.Exit(1)
        err.print(f"{readme} is up to date")
        return
    tmp = readme.with_name(f".{readme.name}.tmp-{os.getpid()}")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, readme)
    err.print(f"wrote {readme}" if new != old else f"{readme} was already up to date")


if __name__ == "__main__":
    main()
