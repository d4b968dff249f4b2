# Stage 08: the report page (results/08_report/index.html + report.md), also in `snakemake --report`.


def report_inputs():
    """Every enabled track's final outputs plus the feature stage (the report shows corpus stats)."""
    missing = [t for t in config["tracks"] if t not in TRACK_TARGETS]
    if missing:
        raise ValueError(f"config 'tracks' lists {missing}, which have no rules in this version of pystn; "
                         f"available: {sorted(TRACK_TARGETS)}")
    return [path for t in config["tracks"] for path in TRACK_TARGETS[t]] + rules.feats.input


rule report:
    input:
        report_inputs(),
    output:
        html=report(
            "results/08_report/index.html",
            category="Report",
            caption="../report/report.rst",
        ),
        md="results/08_report/report.md",
    params:
        tracks=config["tracks"],
        corpora=config["data"]["corpora"],
    log:
        "results/logs/08_report/report.log",
    benchmark:
        "results/benchmarks/08_report/report.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "{PY} steps/make_report.py --tracks {params.tracks} --corpora {params.corpora}"
        " results results/08_report > {log} 2>&1"
