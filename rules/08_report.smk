# Stage 08: the report page (results/08_report/index.html + report.md), also in `snakemake --report`.



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
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/make_report.py results results/08_report --tracks {params.tracks}"
        " --corpora {params.corpora} > {log} 2>&1"
