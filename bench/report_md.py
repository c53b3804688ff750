"""Replace one section of bench/REPORT.md, leaving every other byte of it as it is.

A part run on its own (`bench/run.py --parts clients`, `scale`, `scale-queries` or `virtuoso`, or
`python bench/scale_queries.py`) re-renders only its own section with `splice_section`; a full run
writes the whole report instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NEW_REPORT = "# Benchmark report\n"


def splice_section(
    report_path: Path, heading: str, section: list[str], *, whole_line: bool = False, end: str | None = None
) -> None:
    """Replace the section of ``report_path`` that starts at ``heading``, or append ``section`` when it is absent.

    The section starts at the first line that begins with ``heading`` (leading newlines of ``heading``
    are ignored), or with ``whole_line`` at the first line that is exactly ``heading``. It runs to the
    next level-2 heading (a line beginning with ``## ``; ``### `` sub-headings stay inside it) or the end
    of the file; with ``end`` (a closing marker) it runs through the first ``end`` after the heading
    instead, and the section must then begin with ``heading`` and end with ``end`` itself.

    ``section`` is joined with newlines and stripped of newlines at both ends; one blank line separates it
    from the next heading. Absent (or ``end`` missing after it), it is appended after one blank line. A
    missing file starts as ``# Benchmark report``. Written to a temporary file beside the report, then
    moved over it, so a reader never sees half a report.
    """
    text = report_path.read_text(encoding="utf-8") if report_path.exists() else NEW_REPORT
    heading = heading.lstrip("\n")
    block = "\n".join(section).strip("\n")
    found = re.search("^" + re.escape(heading) + ("$" if whole_line else ""), text, re.MULTILINE)
    start = found.start() if found else -1
    stop = text.find(end, start + len(heading)) if found and end else -1
    if start < 0 or (end and stop < 0):
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    elif end:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        after = text.find("\n## ", start + len(heading))
        text = text[:start] + block + "\n" + (text[after:] if after >= 0 else "")
    tmp = report_path.with_name(f".{report_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, report_path)
    finally:
        tmp.unlink(missing_ok=True)
