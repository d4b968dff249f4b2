# pystn: one DAG for the reproduced papers. See DESIGN.md for the layout.
#   snakemake --cores 2                 whole default run (synthetic corpus)
#   snakemake --cores 2 data | feats    one stage; `snakemake --cores 2 <track>` one track
#   snakemake --profile profiles/slurm  the same DAG on a SLURM cluster
import json
import os
import shlex
import sys

from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, workflow.basedir)

from pystn import workflow as W  # noqa: E402


configfile: "config.yaml"


report: "report/workflow.rst"


validate(config, "schemas/config.schema.yaml")
for _track in config["tracks"]:
    if os.path.exists(f"{workflow.basedir}/schemas/{_track}.schema.yaml"):
        validate(config.setdefault(_track, {}), f"schemas/{_track}.schema.yaml")

PY = sys.executable
STEPS = os.path.join(workflow.basedir, "steps")
# every shell rule runs "$PYSTN_PY $PYSTN_STEPS/<step>.py ...": the interpreter that runs
# Snakemake (the project's venv) and the recipe's own steps/, whatever the working directory
shell.prefix(f"set -euo pipefail; export PYSTN_PY={shlex.quote(PY)} PYSTN_STEPS={shlex.quote(STEPS)}; ")
TRACK_TARGETS = {}  # track name -> its final outputs (filled by the score rules)


# light bookkeeping jobs run in the main process, also on a cluster
localrules:
    all,
    data,
    data_split,
    feats,
    feats_merge,
    report,


include: "rules/common.smk"
include: "rules/01_data.smk"
include: "rules/02_feats.smk"
include: "rules/03_bnf.smk"
include: "rules/04_xvector.smk"
include: "rules/05_train.smk"
include: "rules/06_convert.smk"
include: "rules/07_score.smk"
include: "rules/08_report.smk"


rule all:
    default_target: True
    input:
        "results/08_report/index.html",
