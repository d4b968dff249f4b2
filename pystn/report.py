"""Stage 08: one page with every reproduced table, figure and audio sample, plus stage timings.

Reads only what the scorers wrote (``results/07_score/<track>/``: metrics.json,
``*.md`` / ``*.csv`` tables, ``*.png`` figures, ``samples.json``), the data dirs
for a corpus summary, and Snakemake's ``benchmark:`` files for the time each
stage took. Writes ``report.md`` and a self-contained ``index.html`` (figures
and audio copied beside it).
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from pystn.io import read_kv, write_text
from pystn.tables import markdown

STAGE_NAMES = {
    "01_data": "data", "02_feats": "features", "03_bnf": "bottleneck features", "04_xvector": "speaker",
    "05_train": "training", "06_convert": "conversion", "07_score": "scoring", "08_report": "report",
}


def stage_times(bench_root: Path) -> list[dict]:
    """Per stage: number of jobs, summed job wall time (s) and peak RSS (MB) from benchmark TSVs."""
    stats: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0, "max_rss_mb": 0.0})
    for tsv in sorted(bench_root.glob("*/**/*.tsv")):
        stage = tsv.relative_to(bench_root).parts[0]
        with open(tsv, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        stats[stage]["jobs"] += 1
        stats[stage]["seconds"] += float(rows[-1]["s"])
        rss = rows[-1].get("max_rss", "NA")
        if rss not in ("NA", "-", ""):
            stats[stage]["max_rss_mb"] = max(stats[stage]["max_rss_mb"], float(rss))
    return [{"stage": s, "name": STAGE_NAMES.get(s, s), **v} for s, v in sorted(stats.items())]


def corpus_summary(data_root: Path) -> list[dict]:
    """Speakers, utterances and hours of every prepared (corpus, split)."""
    rows = []
    for utt2dur in sorted(data_root.glob("*/*/utt2dur")):
        split_dir = utt2dur.parent
        if split_dir.parent.name.startswith("split"):
            continue
        durs = [float(v) for v in read_kv(utt2dur).values()]
        spks = set(read_kv(split_dir / "utt2spk").values())
        rows.append({"corpus": split_dir.parent.name, "split": split_dir.name, "speakers": len(spks),
                     "utterances": len(durs), "hours": round(sum(durs) / 3600, 3)})
    return rows


def read_csv_table(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def md_table(rows: list[dict]) -> str:
    if not rows:
        return "_(empty)_\n"
    cols = list(rows[0])
    return markdown(cols, [[fmt(r.get(c, "")) for c in cols] for r in rows])


def html_table(rows: list[dict]) -> str:
    if not rows:
        return "<p><em>(empty)</em></p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def git_revision(repo: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def track_section(track: str, score_dir: Path, out_dir: Path) -> tuple[str, str]:
    """Markdown and HTML of one track: tables, metrics, figures (copied), audio (copied)."""
    md, page = [f"\n## Track `{track}`\n"], [f"<h2>Track <code>{html.escape(track)}</code></h2>"]
    for table_md in sorted(score_dir.glob("*.md")):
        md.append(f"\n### {table_md.stem}\n\n{table_md.read_text()}\n")
        csv_path = table_md.with_suffix(".csv")
        body = html_table(read_csv_table(csv_path)) if csv_path.exists() else (
            f"<pre>{html.escape(table_md.read_text())}</pre>")
        page.append(f"<h3>{html.escape(table_md.stem)}</h3>{body}")
    for png in sorted(score_dir.glob("*.png")):
        rel = copy_asset(png, out_dir / "figures" / track)
        md.append(f"\n![{png.stem}]({rel})\n")
        page.append(f"<figure><img src='{rel}' alt='{html.escape(png.stem)}'>"
                    f"<figcaption>{html.escape(png.stem)}</figcaption></figure>")
    metrics_path = score_dir / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        rows = [{"metric": k, "value": v} for k, v in sorted(metrics.items())]
        md.append("\n<details><summary>metrics.json</summary>\n\n" + md_table(rows) + "\n</details>\n")
        page.append("<details><summary>metrics.json</summary>" + html_table(rows) + "</details>")
    samples_path = score_dir / "samples.json"
    if samples_path.exists():
        page.append(audio_section(json.loads(samples_path.read_text()), out_dir / "audio" / track))
    return "".join(md), "".join(page)


def audio_section(samples: list[dict], audio_dir: Path) -> str:
    """A table of players for the ``samples`` ({label, wav, group}); each wav is copied under its
    group as ``<index>_<label>.wav``: the conditions of one utterance share the wav's file name."""
    rows = []
    for i, s in enumerate(samples):
        wav = Path(s["wav"])
        if not wav.exists():
            continue
        name = f"{i:03d}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', s['label'])}{wav.suffix}"
        rel = copy_asset(wav, audio_dir / s.get("group", "samples"), name)
        rows.append(f"<tr><td>{html.escape(s.get('group', ''))}</td><td>{html.escape(s['label'])}</td>"
                    f"<td><audio controls preload='none' src='{rel}'></audio></td></tr>")
    return "<h3>Audio samples</h3><table>" + "".join(rows) + "</table>" if rows else ""


def copy_asset(src: Path, dest_dir: Path, name: str | None = None) -> str:
    """Copy ``src`` into ``dest_dir`` (as ``name``, default its own) and return its path relative
    to the report root."""
    dest = dest_dir / (name or src.name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    report_root = dest_dir
    while report_root.name not in ("figures", "audio"):
        report_root = report_root.parent
    return str(dest.relative_to(report_root.parent))


CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
       "font-size:13px}th{background:#f3f3f3}img{max-width:100%}figure{margin:1em 0}"
       "figcaption{font-size:12px;color:#666}code{background:#f3f3f3}")


def make_report(results: Path, tracks: list[str], out_dir: Path, config_summary: dict) -> None:
    """Write ``out_dir/report.md`` and ``out_dir/index.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    times = stage_times(results / "benchmarks")
    total = sum(t["seconds"] for t in times)
    corpus = corpus_summary(results / "01_data")
    head = (f"# pystn report\n\nCode revision `{git_revision(Path(__file__).resolve().parents[1])}`; "
            f"tracks: {', '.join(tracks) or 'none'}; corpora: {', '.join(config_summary.get('corpora', []))}.\n"
            "Numbers measured by this run sit beside the papers' numbers; each table names the corpus "
            "and scale of both.\n")
    md = [head, "\n## Corpora\n\n", md_table(corpus),
          f"\n## Stage times (sum of job wall times: {total:.1f} s)\n\n", md_table(times)]
    page = [f"<h1>pystn report</h1><p>{html.escape(head.splitlines()[2])}</p>",
            "<h2>Corpora</h2>", html_table(corpus),
            f"<h2>Stage times</h2><p>Sum of job wall times: {total:.1f} s.</p>", html_table(times)]
    for track in tracks:
        score_dir = results / "07_score" / track
        if not score_dir.is_dir():
            raise FileNotFoundError(f"track '{track}' is in the report but {score_dir} does not exist")
        t_md, t_html = track_section(track, score_dir, out_dir)
        md.append(t_md)
        page.append(t_html)
    write_text(out_dir / "report.md", "".join(md))
    write_text(out_dir / "index.html", f"<!doctype html><html><head><meta charset='utf-8'><title>pystn report"
               f"</title><style>{CSS}</style></head><body>{''.join(page)}</body></html>\n")
