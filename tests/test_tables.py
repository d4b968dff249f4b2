"""Scorer tables: Markdown and CSV of the same rows, CSV quoted so headers may hold commas."""

import csv

from pystn.tables import write_table


def test_csv_round_trips_headers_with_commas_and_md_keeps_notes(tmp_path):
    header = ["system", "EER % (this run: synth corpus, 20 speakers)"]
    write_table(tmp_path, "t", header, [["x", "1.50"]], [["x", "1.5000"]], title="Table 1", notes=["a note"])
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [header, ["x", "1.5000"]]
    md = (tmp_path / "t.md").read_text()
    assert md == ("### Table 1\n\n| system | EER % (this run: synth corpus, 20 speakers) |\n|---|---|\n"
                  "| x | 1.50 |\n\na note\n")
