import math

import numpy as np
import torch

from pystn import stn_score as S
from pystn import stn_tables as T
from pystn.io import write_json
from pystn.models.stn import build_stn
from tests.stn.conftest import TINY_MODEL


def test_prosody_pcc_uses_frames_voiced_in_both():
    ref = (np.array([0, 4.6, 4.7, 4.8, 0, 4.9]), np.array([1.0, 2, 3, 4, 5, 6]))
    gen = (np.array([4.0, 4.6, 4.7, 4.8, 0, 4.9, 5.0]), np.array([1.0, 2, 3, 4, 5, 6, 7]))
    p, e = S.prosody_pcc(gen, ref)
    assert math.isclose(p, 1.0) and math.isclose(e, 1.0)
    inv = (np.array([0, 4.9, 4.8, 4.7, 0, 4.6]), -ref[1])
    p, e = S.prosody_pcc(inv, ref)
    assert math.isclose(p, -1.0) and math.isclose(e, -1.0)


def test_span_rise():
    ref = (np.log(np.array([100.0, 100, 200, 200])) * np.array([1, 0, 1, 1]), np.array([1.0, 1, 1, 1]))
    gen = (np.log(np.array([100.0, 150, 300, 300])), np.array([1.0, 2, 3, 1]))
    f0, en = S.span_rise(gen, ref, (1, 4))
    assert math.isclose(f0, 250.0 - 200.0) and math.isclose(en, 2.0 - 1.0)


def test_bin_accuracy_against_the_quantised_source():
    log_f0 = np.array([0.0, 4.0, 4.7, 0.0, 4.35])  # voiced min 4.0, max 4.7 -> bins 1, 7, 4
    energy = np.array([0.0, 1.0, 2.0, 0.5, 1.0])  # 0..2 in 8 bins -> 0, 4, 7, 2, 4
    codes = np.array([[0, 0], [1, 4], [7, 7], [0, 3], [3, 4]], dtype=np.float32)
    assert S.bin_accuracy(codes, (log_f0, energy)) == (0.8, 0.8)
    assert S.bin_accuracy(codes[:3], (log_f0, energy)) == (1.0, 1.0)  # quantised over the whole track


def test_summarise_rates_means_and_emphasis():
    rows = [{"per_edits": 1, "per_len": 10, "cs_x_resemblyzer": 0.5, "cs_xref_resemblyzer": 0.7, "pitch_pcc": 0.9,
             "energy_pcc": 0.8, "f0_rise_hz": 10.0, "energy_rise": 0.1},
            {"per_edits": 3, "per_len": 10, "cs_x_resemblyzer": 0.7, "cs_xref_resemblyzer": 0.6,
             "pitch_pcc": float("nan"), "energy_pcc": 0.6, "f0_rise_hz": 5.0, "energy_rise": -0.1}]
    s = S.summarise(rows)
    assert s["per"] == 0.2 and math.isclose(s["cs_x_resemblyzer"], 0.6) and s["pitch_pcc"] == 0.9
    assert s["both_rise_frac"] == 0.5 and math.isclose(s["energy_pcc"], 0.7)
    assert S.closer_to_reference(rows, "resemblyzer") == 0.5


def test_average_spectrum_distance_finds_the_nearer_voice(tmp_path):
    """A 'voice' with a bright source (2 kHz) is nearer a 2.1 kHz reference than a 300 Hz source in
    mean log-mel; the row's distances, the summary's mean and the 'spectrum' closer share agree."""
    import soundfile as sf

    sr, t = 16000, np.arange(16000) / 16000
    noise = np.random.default_rng(0).normal(0, 1e-3, t.size)
    paths = {}
    for name, hz in (("src", 300.0), ("ref", 2100.0), ("gen", 2000.0)):
        paths[name] = str(tmp_path / f"{name}.wav")
        sf.write(paths[name], 0.3 * np.sin(2 * np.pi * hz * t) + noise, sr)
    preset = {"kind": "mel", "sample_rate": sr, "n_fft": 512, "win_length": 512, "hop_length": 160,
              "n_mels": 40, "fmin": 0, "fmax": 8000, "center": False, "log_floor": 1e-5}
    spectrum = S.cached(lambda p: S.average_spectrum(p, preset))
    assert spectrum(paths["src"]).shape == (40,)
    tools = {"spectrum": spectrum, "prosody": lambda p: (np.ones(50), np.ones(50))}
    row = S.score_utterance("u", paths["gen"], paths["src"], paths["ref"], tools, "a")
    assert row["spec_dist_xref"] < 0.5 * row["spec_dist_x"]
    same = S.score_utterance("u", paths["src"], paths["src"], paths["ref"], tools, "a")
    assert same["spec_dist_x"] == 0.0 and same["spec_dist_xref"] > row["spec_dist_xref"]
    assert S.closer_to_reference([row, same], "spectrum") == 0.5
    assert math.isclose(S.summarise([row, same])["spec_dist_x"], row["spec_dist_x"] / 2)


def test_latent_eer_separates_speakers_by_z_s():
    torch.manual_seed(0)
    model = build_stn(TINY_MODEL).eval()
    rng = np.random.default_rng(0)
    mels, u2s = {}, {}
    for s in range(3):
        for k in range(4):
            u = f"s{s}_{k}"
            mels[u] = (rng.normal(0, 0.3, (40, 12)) + 3 * np.eye(12)[s * 4]).astype(np.float32)
            u2s[u] = f"s{s}"
    embs = S.latent_embeddings(model, mels)
    assert set(embs) == {"Z_f", "Z_e", "Z_p", "Z_s", "Z_c"} and embs["Z_f"]["s0_0"].shape == (8,)
    assert math.isclose(embs["Z_f"]["s0_0"].sum(), 1.0, rel_tol=1e-5)
    with torch.no_grad():  # Z_c: μ_c [T, d_content] averaged over the utterance's frames
        mu_c = model.encode_content(torch.tensor(mels["s1_2"])[None])[0][0]
    np.testing.assert_allclose(embs["Z_c"]["s1_2"], mu_c.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert embs["Z_c"]["s1_2"].shape == (TINY_MODEL["d_content"],)
    eers = S.latent_eer(embs, u2s)
    assert eers["eer_Z_s"] < 0.2  # a strong per-speaker offset is visible even untrained
    assert set(eers) == {"eer_Z_f", "eer_Z_e", "eer_Z_p", "eer_Z_s", "eer_Z_c"}


def test_target_embeddings_are_bin_histograms_of_eq2():
    f0_hz = np.array([0, 100, 100, 200, 200, 200, 0], dtype=np.float32)
    log_f0 = {"a": np.where(f0_hz > 0, np.log(np.maximum(f0_hz, 1)), 0).astype(np.float32)}
    energy = {"a": np.array([0.0, 1, 2, 3, 4, 5, 6, 7], dtype=np.float32)}
    y = S.target_embeddings(log_f0, energy, ["a"])
    # unvoiced frames -> bin 0; the voiced min and max -> the lowest and highest voiced bins (Eq. 2)
    np.testing.assert_allclose(y["Y_f"]["a"], np.array([2, 2, 0, 0, 0, 0, 0, 3]) / 7)
    np.testing.assert_allclose(y["Y_e"]["a"], np.full(8, 1 / 8))


def test_target_distance_is_the_mean_l1_between_code_and_target():
    embs = {"Z_f": {"a": np.array([0.5, 0.5, 0.0]), "b": np.array([0.0, 0.0, 1.0])},
            "Y_f": {"a": np.array([1.0, 0.0, 0.0]), "b": np.array([0.0, 0.0, 1.0])},
            "Z_s": {"a": np.ones(2), "b": np.ones(2)}}
    # a: |0.5-1| + |0.5-0| = 1; b: 0 -> mean 0.5; no energy code, so no energy distance
    assert S.target_distance(embs) == {"l1_Z_f_Y_f": 0.5}
    assert S.target_distance({"Z_s": embs["Z_s"]}) == {}


def test_register_fit_measures_correlation_and_compression():
    from types import SimpleNamespace

    # a fake model whose register is 4 + 0.05 k (min) and 4.5 + 0.05 k (max) for an utterance whose μ_s is k
    fake = SimpleNamespace(harmonic={"sample_rate": 8000},
                           f0_range=lambda mu: torch.cat([4 + 0.05 * mu, 4.5 + 0.05 * mu], -1))
    z_s = {f"u{k}": np.array([float(k)], dtype=np.float32) for k in range(1, 6)}
    log_f0 = {f"u{k}": np.array([0, 4 + 0.1 * k, 4.5 + 0.1 * k, 0], dtype=np.float32) for k in range(1, 6)}
    z_s["silent"], log_f0["silent"] = np.zeros(1, dtype=np.float32), np.zeros(4, dtype=np.float32)
    fit = S.register_fit(fake, z_s, log_f0)
    assert math.isclose(fit["register_pcc_min"], 1.0) and math.isclose(fit["register_pcc_max"], 1.0)
    assert math.isclose(fit["register_spread"], 0.5, rel_tol=1e-4)  # half the analysed spread
    log_f0["u5"] = np.array([0, 4.1, 4.6, 0], dtype=np.float32)  # the highest prediction, a low range
    assert S.register_fit(fake, z_s, log_f0)["register_pcc_min"] < 0.5
    assert S.register_fit(build_stn(TINY_MODEL).eval(), z_s, log_f0) == {}  # no harmonic source


def test_tables_print_run_and_paper_values(tmp_path):
    summary = {"source": {"per": 0.1}, "recon": {"per": 0.12, "pitch_pcc": 0.95},
               "speaker": {"per": 0.2, "cs_xref_resemblyzer": 0.8, "closer_to_xref_resemblyzer": 0.9,
                           "pitch_pcc": 0.8, "energy_pcc": 0.9},
               "pitch": {"pitch_pcc": 0.5}, "energy": {"energy_pcc": 0.4},
               "emphasis": {"n": 4, "f0_rise_hz": 12.0, "energy_rise": 0.01, "both_rise_frac": 0.75}}
    paper = {"label": "paper: VCTK", "table1": {"recon": {"cer": 0.1232, "pitch_pcc": 0.9126}},
             "table3": {1.5: {"Z_f": 0.37, "Z_s": 0.07}}}
    eers = {1.5: [{"eer_Z_f": 0.4, "eer_Z_e": 0.45, "eer_Z_p": 0.4, "eer_Z_s": 0.1, "eer_Y_f": 0.48}],
            3.0: [{"eer_Z_f": 0.3, "eer_Z_e": 0.45, "eer_Z_p": 0.4, "eer_Z_s": 0.1, "eer_Y_f": 0.48,
                   "l1_Z_f_Y_f": 0.1}]}
    m = T.write_all(tmp_path, {"stn": summary, "beta_vaevc": {"speaker": {"per": 0.3}}}, eers,
                    {"stn": {"steps": 10}, "cp1.5": {"final_kl_p": 1.9}, "cp3.0": {"final_kl_p": 2.4}}, paper,
                    {"this_run": "this run: synth", "reference": "parallel", "xvector_space": "lda"},
                    {"eer_Z_f": 0.35, "eer_Z_s": 0.2, "eer_Z_c": 0.45, "register_pcc_min": 0.6,
                     "register_spread": 0.4})
    t1 = (tmp_path / "table1.md").read_text()
    assert "0.1200 (0.1232)" in t1 and "0.9500 (0.9126)" in t1 and "this run: synth" in t1
    assert "X' another test speaker reading X's sentence" in t1 and "X' another" not in (tmp_path / "table3.md").read_text()
    assert "x-vector CS in the x-vector system's length-normalised LDA space" in t1
    t3 = (tmp_path / "table3.md").read_text()
    assert "0.4000 (0.3700)" in t3
    assert "| EER | C_p=1.5 | C_p=3 | main model (10 steps) |" in t3
    assert "| EER(Z_f) | 0.4000 (0.3700) | 0.3000 | 0.3500 |" in t3
    assert "| EER(Y_f): the time-averaged pitch-bin target of Eq. 2 (what Z_f tends to) | 0.4800 | 0.4800 | – |" in t3
    assert "PCC of the minimum | – | – | 0.6000 |" in t3 and "PCC of the maximum" not in t3
    assert "EER(Y_e)" not in t3
    assert "| L1 of time-averaged Z_f from Y_f (0: the code is its target) | – | 0.1000 | – |" in t3
    assert "Z_e from Y_e" not in t3
    assert "| EER(Z_c): the time-averaged content latent" in t3 and "0.5 = none) | – | – | 0.4500 |" in t3
    assert "| 1.90 (above C_p: the capacity term pulls it down) | 2.40 (below C_p: capacity never bound) | – |" in t3
    assert "0.7500" in (tmp_path / "emphasis.md").read_text()
    assert m["stn.speaker.per"] == 0.2 and m["table3.cp3.eer_Z_f"] == 0.3 and m["train.stn.steps"] == 10
    assert m["table3.main.register_spread"] == 0.4
    assert m["check.xs_closer_to_xref_most"] == 1.0 and m["check.xf_changes_pitch_more_than_xs"] == 1.0
    assert m["check.eer_zf_falls_with_cp"] == 1.0 and m["check.eer_zs_below_zf"] == 1.0
    assert math.isclose(m["check.recon_per_minus_source_per"], 0.02)
    assert (tmp_path / "table2.csv").read_text().startswith("measure,β-VAEVC,SpeechTripleNet")


def test_table3_averages_the_sweep_replicates(tmp_path):
    """Several training seeds per C_p (stn.sweep.replicates): Table 3 prints mean ± sample sd,
    metrics.json holds both, and the checks compare the means."""
    eers = {1.5: [{"eer_Z_f": 0.40, "eer_Z_s": 0.1}, {"eer_Z_f": 0.44, "eer_Z_s": 0.3}],
            3.0: [{"eer_Z_f": 0.41, "eer_Z_s": 0.2}, {"eer_Z_f": 0.39, "eer_Z_s": 0.2, "eer_Y_f": 0.5}]}
    m = T.write_all(tmp_path, {"stn": {}}, eers, {"cp1.5": {"final_kl_p": 1.4}, "cp1.5r1": {"final_kl_p": 1.6},
                                                  "cp3.0": {"final_kl_p": 2.0}, "cp3.0r1": {"final_kl_p": 2.2}},
                    {}, {"this_run": "this run"})
    t3 = (tmp_path / "table3.md").read_text()
    assert "| EER(Z_f) | 0.4200 ± 0.0283 | 0.4000 ± 0.0141 |" in t3
    assert "| EER(Z_s) | 0.2000 ± 0.1414 | 0.2000 |" in t3  # replicates that agree: no spread printed
    assert "EER(Y_f)" not in t3  # one replicate alone has it: no mean over the C_p's runs
    assert "| 1.50 (at C_p) | 2.10 (below C_p: capacity never bound) |" in t3
    assert math.isclose(m["table3.cp1.5.eer_Z_f"], 0.42) and math.isclose(m["table3.cp1.5.eer_Z_f_sd"], 0.02 * 2 ** 0.5)
    assert m["check.eer_zf_falls_with_cp"] == 1.0 and m["check.eer_zs_below_zf"] == 1.0
    assert T.replicate_stats([{"a": 1.0}]) == ({"a": 1.0}, {})  # one seed: no spread


def test_read_eers_groups_replicates_by_c_p(tmp_path):
    for name, eer in (("cp1.5", 0.4), ("cp1.5r1", 0.5), ("cp3", 0.3)):
        write_json(tmp_path / "eer" / f"{name}.json", {"eer_Z_f": eer})
    got = T.read_eers(tmp_path, ["cp1.5", "cp1.5r1", "cp3"])
    assert got == {1.5: [{"eer_Z_f": 0.4}, {"eer_Z_f": 0.5}], 3.0: [{"eer_Z_f": 0.3}]}


def test_loss_plot_gives_a_c_p_one_colour_for_its_replicates():
    from pystn.plots.stn import run_styles

    styles = run_styles(["stn", "cp1.5", "cp1.5r1", "cp3", "cp3r1"])
    assert styles["cp1.5r1"]["color"] == styles["cp1.5"]["color"] != styles["cp3"]["color"]
    assert styles["stn"]["color"] not in (styles["cp1.5"]["color"], styles["cp3"]["color"])
    assert [styles[v]["label"] for v in ("cp1.5", "cp1.5r1")] == ["cp1.5", "_nolegend_"]


def test_plots_write_pngs(tmp_path):
    from pystn.plots.stn import plot_editing, plot_losses

    recs = [{"step": s, "nll": 100.0 / s, "kl_c": 1.0, "cap_c": 1.3, "kl_s": 5.0, "cap_s": 6.0, "kl_p": 2.0,
             "cap_p": 3.0, "ssl_p": 2.0} for s in range(1, 5)]
    plot_losses({"stn": recs, "beta": [{"step": 1, "nll": 9.0, "kl_c": 1.0, "kl_s": 1.0}]}, tmp_path / "l.png")
    t = 30
    row = {"label": "X", "mel": np.random.rand(t, 80), "log_f0": np.where(np.arange(t) > 5, 5.0, 0.0),
           "energy": np.random.rand(t), "bins_f": np.arange(t) % 8, "bins_e": np.zeros(t), "span": (3, 9)}
    plot_editing([row, dict(row, label="X_s", span=None)], tmp_path / "f.png")
    assert (tmp_path / "l.png").stat().st_size > 5000 and (tmp_path / "f.png").stat().st_size > 5000


def test_kl_vs_capacity_says_where_the_last_kl_sits():
    assert T.kl_vs_capacity(2.98, 3.0) == "at C_p"
    assert T.kl_vs_capacity(2.5, 1.5) == "above C_p: the capacity term pulls it down"
    assert T.kl_vs_capacity(1.8, 2.5) == "below C_p: capacity never bound"
