"""Synthetic national edition for benchmarks: tables shaped like the real data, at any scale.

``kg synth --scale N --out DIR`` writes a complete ``data/``-style folder (about N triples once
built) with municipalities across all 47 prefectures (valid codes with check digits), resources
per type, revitalization plans per fiscal year with measures, programs with budgets. The output
conforms to the shapes and is deterministic for a seed. Rows cite a real source key with the
section ``synthetic`` so the tables pass the same checks as the real ones.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path
from typing import TextIO

from ..dates import check_digit
from .table_schema import METADATA_FILE, Schema, read_schema

STATIC = ("sources", "concepts", "legal_bases")
SECTION = "000:synthetic"
TYPES = ("farm-forest-fishery", "mining-manufacturing", "tourism")
TOPICS = ("dx", "startup", "succession", "sales-channel", "finance", "technology", "collaboration")


def _code(prefix5: str) -> str:
    return prefix5 + str(check_digit(prefix5))


class _Writer:
    def __init__(self, out: Path, schema: Schema):
        self.out = out
        self.schema = schema
        self.files: dict[str, tuple[TextIO, csv.DictWriter]] = {}

    def row(self, table: str, **values: object) -> None:
        if table not in self.files:
            handle = open(self.out / f"{table}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
            columns = [c.name for c in self.schema.table(table).columns]
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            self.files[table] = (handle, writer)
        self.files[table][1].writerow({k: ("" if v is None else v) for k, v in values.items()})

    def close(self) -> None:
        """Close every file; tables that got no row are written with their header only."""
        for handle, _ in self.files.values():
            handle.close()
        for table in self.schema.tables:
            path = self.out / table.file
            if table.name not in self.files and not path.exists():
                path.write_text(",".join(c.name for c in table.columns) + "\n", encoding="utf-8")


def synthesize(scale: int, out: Path, real_data: Path, seed: int = 1) -> dict[str, int]:
    """Write a synthetic edition of about ``scale`` triples into ``out``; return row counts."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for table in STATIC:
        shutil.copy(real_data / f"{table}.csv", out / f"{table}.csv")
    shutil.copy(real_data / METADATA_FILE, out / METADATA_FILE)
    w = _Writer(out, read_schema(real_data / METADATA_FILE))
    counts: dict[str, int] = {}
    n_muni = max(47, min(1741, scale // 400))
    n_res = max(3, int(scale * 0.45 / 12))
    n_plans = max(1, int(scale * 0.08 / 40))
    n_prog = max(1, int(scale * 0.25 / 35))

    prefectures = []
    for p in range(1, 48):
        code = _code(f"{p:02d}000")
        prefectures.append(code)
        w.row(
            "prefectures",
            code6=code,
            code5=f"{p:02d}000",
            name_ja=f"合成県{p:02d}",
            kana=f"ごうせいけん{p:02d}",
            name_en=f"Synthetic prefecture {p:02d}",
            source=SECTION,
        )
        w.row(
            "basic_concepts",
            id=f"s-bc-{p:02d}",
            name_ja=f"合成基本構想{p:02d}",
            name_en=f"Synthetic basic concept {p:02d}",
            prefecture=code,
            legal_basis="419ac0000000039-a5-p1",
            drafted="2008-07",
            changed="2011-01-21",
            approved_by=code,
            approver_note_ja="合成",
            viewpoints="diversity",
            contact="",
            source=SECTION,
        )
    munis = []
    for i in range(n_muni):
        p = i % 47 + 1
        n = i // 47
        kind, number = ("市", 201 + n) if n % 3 == 0 else ("町", 301 + n) if n % 3 == 1 else ("村", 401 + n)
        code5 = f"{p:02d}{number:03d}"
        code = _code(code5)
        munis.append((code, p))
        w.row(
            "municipalities",
            code6=code,
            code5=code5,
            name_ja=f"合成{kind}{i:04d}",
            kana=f"ごうせい{i:04d}",
            name_en=f"Synthetic-{i:04d}",
            kind=kind,
            branch_office="",
            district="",
            prefecture=prefectures[p - 1],
            source=SECTION,
        )
    counts["municipalities"] = n_muni
    for i in range(n_res):
        code, p = munis[rng.randrange(n_muni)]
        areas = {code}
        for _ in range(rng.choice((0, 0, 1, 2))):
            areas.add(munis[rng.randrange(n_muni)][0])
        w.row(
            "regional_resources",
            id=f"s-res-{i}",
            name_ja=f"合成資源{i}",
            type=TYPES[i % 3],
            basic_concept=f"s-bc-{p:02d}",
            municipalities=";".join(sorted(areas)),
            note="",
            source=SECTION,
        )
    counts["regional_resources"] = n_res
    measures = []
    for i in range(n_plans):
        code, _p = munis[rng.randrange(n_muni)]
        start = 2015 + rng.randrange(10)
        w.row(
            "plans",
            id=f"s-plan-{i}",
            kind="revitalization-plan",
            name_ja=f"合成活性化計画{i}",
            name_en=f"Synthetic revitalization plan {i}",
            municipality=code,
            author=code,
            approved_by=_code(code[:2] + "000"),
            fy_start=start,
            fy_end=start + 2,
            description_ja="合成データ",
            description_en="Synthetic data",
            source=SECTION,
        )
        for j in range(1, 4):
            mid = f"s-plan-{i}-c{j}"
            measures.append(mid)
            w.row(
                "measures",
                id=mid,
                plan=f"s-plan-{i}",
                kind="category",
                notation=f"({j})",
                order=j,
                name_ja=f"取組{j}",
                name_en=f"Initiative {j}",
                source=SECTION,
            )
    for i in range(n_prog):
        code, _p = munis[rng.randrange(n_muni)]
        w.row(
            "programs",
            id=f"s-prog-{i}",
            name_ja=f"合成事業{i}",
            name_en=f"Synthetic program {i}",
            level="municipal",
            implementer=code,
            topics=TOPICS[i % len(TOPICS)],
            description_ja="合成データ",
            description_en="Synthetic data",
            source=SECTION,
        )
        w.row(
            "program_measures",
            program=f"s-prog-{i}",
            measure=measures[i % len(measures)],
            order=i // len(measures) + 1,
            source=SECTION,
        )
        fy = 2015 + i % 10
        amount = rng.randrange(1, 2000) * 10_000_000
        w.row(
            "budgets",
            id=f"s-b-{i}",
            program=f"s-prog-{i}",
            fiscal_year=fy,
            budget_kind="initial",
            amount_yen=amount,
            as_written=f"{amount / 100_000_000:.1f}億円",
            is_new="false",
            source=SECTION,
        )
    counts.update(plans=n_plans, measures=len(measures), programs=n_prog, budgets=n_prog)
    w.row("organizations", id="s-org", name_ja="合成機関", name_en="Synthetic body", kind="other", source=SECTION)
    w.close()
    return counts
