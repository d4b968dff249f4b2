"""The paper-size configs as Snakemake sees them: deep-merged onto config.yaml by --configfile."""

import pytest
import yaml
from snakemake.utils import validate

from tests.workflow.conftest import ROOT, merged_config


@pytest.mark.parametrize("paper_config", ["configs/vctk.yaml", "configs/voxceleb.yaml", "configs/synth_plain.yaml"])
def test_paper_configs_pass_the_schemas(paper_config):
    config = merged_config(paper_config)
    validate(config, str(ROOT / "schemas/config.schema.yaml"))
    for track in ("stn", "xvector"):
        validate(config[track], str(ROOT / f"schemas/{track}.schema.yaml"))


def test_default_corpus_has_valid_habits_and_the_plain_overlay_only_drops_them():
    from local.prepare_synth import check_intonation

    default = merged_config("config.yaml")["corpora"]["synth"]
    plain = merged_config("configs/synth_plain.yaml")["corpora"]["synth"]
    assert check_intonation(default["intonation"]) == default["intonation"]
    assert plain["intonation"] is None and check_intonation(plain["intonation"]) is None
    assert {k: v for k, v in plain.items() if k != "intonation"} == {k: v for k, v in default.items()
                                                                       if k != "intonation"}


def test_voxceleb_bnf_dnns_inherit_no_cpu_recipe_additions():
    paper = yaml.safe_load((ROOT / "configs/voxceleb.yaml").read_text())["xvector"]["bnf"]
    bnf = merged_config("configs/voxceleb.yaml")["xvector"]["bnf"]
    for dnn in ("dnn1", "dnn2"):
        assert bnf[dnn]["model"] == paper[dnn]["model"], f"{dnn}.model inherits keys from config.yaml"
        assert bnf[dnn]["warp"] == 0.0 and bnf[dnn]["model"]["subsample"] == 1


def test_vctk_beta_vaevc_trains_as_long_as_the_main_model():
    """Table 2's baseline at the paper's budget, not config.yaml's CPU-sized β-VAEVC steps."""
    from pystn.models.stn_variants import variant_config

    stn = merged_config("configs/vctk.yaml")["stn"]
    steps = {v: variant_config(stn, v)["train"]["steps"] for v in ("stn", "beta_vaevc")}
    assert steps == {"stn": 200000, "beta_vaevc": 200000}


def test_vctk_stn_model_has_the_paper_s_encoders_and_decoder():
    """Every recipe addition to the STN model that config.yaml switches on is off in the paper config."""
    model = merged_config("configs/vctk.yaml")["stn"]["model"]
    assert (model["harmonic"], model["content_norm"], model["prosody_contours"], model["speaker_spectrum"]) == \
        (False, "batch", False, False)
