"""The scorers' tables: one Markdown (human) and one CSV (machine) rendering of the same rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from pystn.io import write_text


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-style Markdown table of string cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV with proper quoting (headers such as 'EER % (synth corpus, 150 steps)' hold commas)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([list(header), *map(list, rows)])
    return buf.getvalue()


def write_table(out_dir: Path, stem: str, header: Sequence[str], md_rows: Sequence[Sequence[str]],
                csv_rows: Sequence[Sequence[str]] | None = None, title: str = "", notes: Sequence[str] = ()) -> None:
    """Write ``<stem>.md`` (optional ``### title``, the table, notes) and ``<stem>.csv``.

    ``csv_rows`` defaults to ``md_rows``; give it when the machine table keeps more digits.
    """
    head = f"### {title}\n\n" if title else ""
    tail = "\n" + "\n".join(notes) + "\n" if notes else ""
    write_text(Path(out_dir) / f"{stem}.md", head + markdown(header, md_rows) + tail)
    write_text(Path(out_dir) / f"{stem}.csv", csv_text(header, md_rows if csv_rows is None else csv_rows))
