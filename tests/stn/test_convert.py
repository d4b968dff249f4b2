import numpy as np
import pytest
import torch

from pystn.io import DataError, read_kv, read_scp
from pystn.models import stn_convert as C
from pystn.models.stn import build_stn
from pystn.models.stn_variants import with_mel_preset
from tests.stn.conftest import TINY_MEL_PRESET, TINY_MODEL

CFG = {"conditions": list(C.CONDITIONS), "seed": 4, "pitch_shift": 2, "energy_shift": 2,
       "emphasis_min_frames": 2, "question_fraction": 0.3}


def test_choose_utts_and_references():
    u2s = {f"s{s}_{k}": f"s{s}" for s in range(3) for k in range(5)}
    utts = C.choose_utts(u2s, 2, seed=1)
    assert len(utts) == 6 and all(sum(u2s[u] == f"s{s}" for u in utts) == 2 for s in range(3))
    assert utts == C.choose_utts(u2s, 2, seed=1)
    refs = C.choose_references(utts, u2s, seed=1)
    assert all(u2s[refs[u]] != u2s[u] and refs[u] in utts for u in utts)


def test_choose_utts_spreads_each_speakers_draw_over_its_styles():
    styles = ("angry", "happy", "neutral", "sad")
    u2s = {f"s{s}_{st}_{k}": f"s{s}" for s in range(3) for st in styles for k in range(6)}
    emo = {u: u.split("_")[1] for u in u2s}
    for seed in range(5):
        utts = C.choose_utts(u2s, 8, seed, emo)
        for s in range(3):
            mine = [u for u in utts if u2s[u] == f"s{s}"]
            assert sorted(emo[u] for u in mine) == sorted(styles * 2)
        three = C.choose_utts(u2s, 3, seed, emo)  # fewer than the styles: three different ones
        assert all(len({emo[u] for u in three if u2s[u] == f"s{s}"}) == 3 for s in range(3))
    # a speaker with one style left gives what it has, and no utterance twice
    small = {"a_sad_0": "a", "a_sad_1": "a", "a_angry_0": "a"}
    assert sorted(C.choose_utts(small, 5, 0, {u: u.split("_")[1] for u in small})) == sorted(small)
    assert len({tuple(C.choose_utts(u2s, 8, seed, emo)) for seed in range(5)}) > 1  # still a random draw


def test_parallel_references_read_the_same_sentence_in_the_same_style():
    styles, sentences = ("angry", "sad"), ("THE BOY RAN", "A CAT SAT")
    u2s = {f"spk{s}_{st}_{k}": f"spk{s}" for s in range(3) for st in styles for k in range(2)}
    texts = {u: sentences[int(u[-1])] if u != "spk0_sad_1" else " the  boy ran " for u in u2s}
    texts["spk2_sad_0"] = "A LONE SENTENCE"  # spk1_sad_0's parallel readings are then spk0's two
    emo = {u: u.split("_")[1] for u in u2s}
    keys = C.parallel_keys(texts, emo)
    assert keys["spk0_sad_1"] == ("THE BOY RAN", "sad")
    utts = ["spk0_angry_0", "spk0_sad_1", "spk1_sad_0", "spk2_sad_0"]
    drawn = set()
    for seed in range(8):
        refs = C.choose_references(utts, u2s, seed, keys)
        for u in ("spk0_angry_0", "spk1_sad_0", "spk0_sad_1"):
            assert u2s[refs[u]] != u2s[u] and keys[refs[u]] == keys[u]
        drawn.add(refs["spk1_sad_0"])
        # no parallel reading of spk2_sad_0 exists: the draw falls back to the converted utterances
        assert refs["spk2_sad_0"] in utts and u2s[refs["spk2_sad_0"]] != "spk2"
    assert drawn == {"spk0_sad_0", "spk0_sad_1"}   # from the whole split, not only the converted utterances


def split_of(utt2spk: dict, **maps: dict):
    """A test split for :func:`pystn.data.write_data_dir` (its audio paths are never read here)."""
    from pystn.data import DataDir

    return DataDir(wavs={u: f"/audio/{u}.wav" for u in utt2spk}, utt2spk=utt2spk, maps=maps)


def test_split_reading_keys_need_the_transcripts(tmp_path):
    from pystn.data import read_data_dir, write_data_dir

    u2s = {"a_x_0": "a", "b_x_0": "b", "c_x_0": "c"}
    write_data_dir(split_of(u2s), tmp_path)
    with pytest.raises(DataError, match="text: missing.*reference: any"):
        C.split_reading_keys(read_data_dir(tmp_path), tmp_path)
    write_data_dir(split_of(u2s, text={"a_x_0": "HELLO  THERE", "b_x_0": "hello there", "c_x_0": ""}), tmp_path)
    keys = C.split_reading_keys(read_data_dir(tmp_path), tmp_path)
    assert keys["a_x_0"] == keys["b_x_0"] == ("HELLO THERE", None)
    assert "c_x_0" not in keys  # no transcript, no parallel reading
    (tmp_path / "utt2emo").write_text("a_x_0 sad\nb_x_0 angry\n")
    assert C.split_reading_keys(read_data_dir(tmp_path), tmp_path)["a_x_0"] == ("HELLO THERE", "sad")


def test_sources_and_references_skip_utterances_too_short_to_convert(tmp_path):
    from pystn.data import write_data_dir
    from pystn.io import write_ark_scp

    u2s = {f"spk{s}_sad_{k}": f"spk{s}" for s in range(3) for k in range(2)}
    frames = {u: 4 if u in ("spk1_sad_0", "spk2_sad_1") else 20 for u in u2s}  # two readings too short
    write_ark_scp(tmp_path / "feats.ark", tmp_path / "feats.scp",
                  [(u, np.zeros((frames[u], 3), dtype=np.float32)) for u in sorted(u2s)])
    texts = {u: f"SENTENCE {u[-1]}" for u in u2s}
    write_data_dir(split_of(u2s, text=texts), tmp_path / "data")
    cfg = {"per_speaker": 0, "reference": "parallel"}
    for seed in range(6):
        mels, refs, ref_mels, keys = C.sources_and_references(str(tmp_path / "feats.scp"), tmp_path / "data",
                                                              dict(cfg, seed=seed))
        assert sorted(mels) == sorted(u for u in u2s if frames[u] == 20)
        # spk0_sad_0's parallel readings: spk1_sad_0 is too short, so always spk2_sad_0
        assert refs["spk0_sad_0"] == "spk2_sad_0" and set(refs) == set(mels)
        assert all(r in ref_mels and keys[r] == keys[u] for u, r in refs.items())
    mels, refs, ref_mels, keys = C.sources_and_references(str(tmp_path / "feats.scp"), tmp_path / "data",
                                                          dict(cfg, seed=0, reference="any"))
    assert keys is None and set(ref_mels) == set(mels) and all(r in mels for r in refs.values())
    only_short = {u: s for u, s in u2s.items() if frames[u] == 4}
    write_data_dir(split_of(only_short, text={u: texts[u] for u in only_short}), tmp_path / "short")
    with pytest.raises(DataError, match="none of the utterances chosen for conversion has 16 frames"):
        C.sources_and_references(str(tmp_path / "feats.scp"), tmp_path / "short", dict(cfg, seed=0))


def test_edit_bins_follow_the_condition():
    bf = np.array([0, 2, 2, 2, 0, 3, 3, 3, 3, 0, 4, 4, 4, 0])
    be = np.array([1, 3, 3, 3, 1, 4, 4, 4, 4, 1, 2, 2, 2, 0])
    rng = np.random.default_rng(0)
    f, e, span = C.edit_bins("pitch", bf, be, rng, CFG)
    assert (e == be).all() and span is None and (f != bf).any() and (f[bf == 0] == 0).all()
    f, e, _ = C.edit_bins("energy", bf, be, rng, CFG)
    assert (f == bf).all() and (e != be).any()
    low = np.where(bf > 0, 1, 0)  # voiced frames at energy bin 1: a decrease must stop there, not at 0
    lowered = [C.edit_bins("energy", bf, low, np.random.default_rng(s), dict(CFG, energy_shift=5))[1]
               for s in range(8)]
    assert all((e[bf > 0] >= 1).all() and (e[bf == 0] == 0).all() for e in lowered)
    assert any((e > low).any() for e in lowered)  # and the raised segments do rise
    f, e, span = C.edit_bins("emphasis", bf, be, rng, CFG)
    assert span == (5, 9) and (f[5:9] == 7).all() and (e[5:9] == 7).all() and (f[:5] == bf[:5]).all()
    f, e, span = C.edit_bins("question", bf, be, rng, CFG)
    assert span[1] == len(bf) and f[12] == 7 and e[12] == 7 and (f[:span[0]] == bf[:span[0]]).all()


def test_sub_bin_position_rides_on_the_edited_bins_inside_the_voiced_range():
    bins = np.array([0, 2, 7, 1, 4])
    detail = np.array([0.0, 0.3, 0.4, -0.4, -0.2])
    got = C.sub_bin_position(bins, detail, n_bins=8)
    assert got.shape == (1, 5)
    assert torch.allclose(got[0], torch.tensor([0.0, 2.3, 7.0, 1.0, 3.8]))


def test_harmonic_source_renders_the_sub_bin_detail():
    torch.manual_seed(0)
    m = build_stn(with_mel_preset({**TINY_MODEL, "harmonic": True}, TINY_MEL_PRESET)).eval()
    mel = np.random.default_rng(0).normal(size=(40, TINY_MODEL["n_mels"])).astype(np.float32)
    a = m.analyse(torch.from_numpy(mel)[None])
    voiced = a["bins_f"] > 0
    assert voiced.any() and (a["pitch_detail"][~voiced] == 0).all()
    assert (a["pitch_detail"].abs() <= 0.5).all() and (a["pitch_detail"][voiced] != 0).any()
    _, _, _, f0 = C.convert_one(m, mel, None, "recon", np.random.default_rng(0), CFG)
    with torch.no_grad():
        plain = m.decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"])["source_log_f0"][0].numpy()
    assert (f0 > 0).tolist() == (plain > 0).tolist() and not np.allclose(np.log(f0[f0 > 0]), plain[plain > 0])


def test_convert_all_writes_every_condition(tmp_path):
    torch.manual_seed(0)
    model = build_stn(with_mel_preset({**TINY_MODEL, "harmonic": True}, TINY_MEL_PRESET)).eval()
    rng = np.random.default_rng(0)
    mels = {f"spk00{s}_neutral_00{k}": rng.normal(-4, 1, (30 + k, 12)).astype(np.float32)
            for s in range(2) for k in range(2)}
    u2s = {u: u[:6] for u in mels}
    source_f0 = {u: np.full(len(m), 123.0, dtype=np.float32) for u, m in mels.items()}
    excitations = []

    def vocoder(mel, f0):
        excitations.append(f0)
        return np.zeros(len(mel) * 4, dtype=np.float32)

    refs = C.choose_references(sorted(mels), u2s, seed=4)
    done = C.convert_all(model, mels, refs, mels, tmp_path, CFG, vocoder, 8000, progress=False, source_f0=source_f0)
    assert done == {c: 4 for c in C.CONDITIONS}
    # copy-synthesis is excited by the analysed F0, every model output by the harmonic source's
    assert all((f0 == 123.0).all() for f0 in excitations[:4])
    assert all(f0 is not None and len(f0) in (30, 31) and not (f0 == 123.0).all() for f0 in excitations[4:])
    copy = read_scp(tmp_path / "copy" / "feats.scp")
    assert np.array_equal(copy["spk000_neutral_000"], mels["spk000_neutral_000"])
    rec = read_scp(tmp_path / "recon" / "feats.scp")["spk000_neutral_001"]
    assert rec.shape == (31, 12)
    refs = read_kv(tmp_path / "speaker" / "refs")
    assert refs["spk000_neutral_000"].startswith("spk001")
    codes = read_scp(tmp_path / "emphasis" / "codes.scp")["spk001_neutral_000"]
    assert codes.shape == (30, 2)
    assert (tmp_path / "pitch" / "wav" / "spk001_neutral_001.wav").is_file()
    sp = read_scp(tmp_path / "speaker" / "feats.scp")["spk000_neutral_000"]
    assert not np.allclose(sp, read_scp(tmp_path / "recon" / "feats.scp")["spk000_neutral_000"])


def test_beta_vaevc_gets_only_non_prosodic_conditions():
    model = build_stn({**TINY_MODEL, "prosody": False})
    assert C.conditions_for(model, list(C.CONDITIONS)) == ["copy", "recon", "speaker"]


def test_a_contour_reading_model_converts_with_the_source_s_contours():
    from pystn.prosody import prosody_contours

    torch.manual_seed(0)
    model = build_stn({**TINY_MODEL, "prosody_contours": True}).eval()
    rng = np.random.default_rng(0)
    mel = rng.normal(-4, 1, (30, 12)).astype(np.float32)
    log_f0 = np.where(np.arange(30) % 5 > 0, np.log(100 + 3 * np.arange(30)), 0.0)
    contours = prosody_contours(log_f0, np.abs(mel).mean(1))
    with pytest.raises(ValueError, match="prosody_contours"):
        C.convert_one(model, mel, mel, "recon", rng, CFG)
    ref = mel[::-1].copy()  # X' is read for its Z_s alone: it needs no contours
    for condition in ("recon", "speaker"):
        a = C.convert_one(model, mel, ref, condition, np.random.default_rng(1), CFG, contours=contours)
        b = C.convert_one(model, mel, ref, condition, np.random.default_rng(1), CFG, contours=contours[::-1].copy())
        assert a[0].shape == (30, 12) and not np.array_equal(a[0], b[0])


def test_the_speaker_swap_takes_the_reference_s_spectrum():
    """A speaker_spectrum model decodes X_s with X''s spectrum, every other condition with X's."""
    torch.manual_seed(0)
    model = build_stn({**TINY_MODEL, "speaker_spectrum": True}).eval()
    rng = np.random.default_rng(0)
    mel = rng.normal(-4, 1, (30, 12)).astype(np.float32)
    louder = mel + 1.5  # X' = X with every bin 1.5 higher: the same Z_c and codes, another spectrum
    recon = C.convert_one(model, mel, louder, "recon", np.random.default_rng(1), CFG)[0]
    swapped = C.convert_one(model, mel, louder, "speaker", np.random.default_rng(1), CFG)[0]
    a = model.analyse(torch.from_numpy(mel)[None])
    position = C.sub_bin_position(a["bins_f"].numpy(), a["pitch_detail"].numpy(), model.n_bins)
    with torch.no_grad():
        ref = torch.from_numpy(louder)[None]
        direct_swap = model.decode_all(a["z_c"], model.encode_speaker(ref)[0], a["code_f"], a["code_e"],
                                       pitch_position=position, spectrum=model.spectrum_of(ref))["mel"][0].numpy()
        direct_recon = model.decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"], pitch_position=position,
                                        spectrum=a["spectrum"])["mel"][0].numpy()
    np.testing.assert_allclose(swapped, direct_swap, atol=1e-5)
    np.testing.assert_allclose(recon, direct_recon, atol=1e-5)
    assert not np.allclose(recon, swapped)


def test_global_variance_moves_each_bin_s_spread_toward_the_voice_s():
    rng = np.random.default_rng(3)
    mel = rng.normal(-4, 0.5, (40, 6)).astype(np.float32)
    voice = rng.normal(-2, 1.0, (55, 6)).astype(np.float32) * np.linspace(0.5, 2.0, 6, dtype=np.float32)
    assert C.global_variance(mel, voice, 0.0) is mel
    full = C.global_variance(mel, voice, 1.0)
    np.testing.assert_allclose(full.mean(0), mel.mean(0), atol=1e-5)  # the mean (the spectrum) stays
    np.testing.assert_allclose(full.std(0), voice.std(0), rtol=1e-4)
    half = C.global_variance(mel, voice, 0.5)
    np.testing.assert_allclose(half.std(0), np.sqrt(mel.std(0) * voice.std(0)), rtol=1e-4)
    assert half.dtype == mel.dtype and half.shape == mel.shape


def test_the_postfilter_takes_the_rendered_voice_s_spread():
    """With global_variance 1, X_s has X''s per-bin spread, X̂ (and every edit) X's own."""
    torch.manual_seed(0)
    model = build_stn({**TINY_MODEL, "speaker_spectrum": True}).eval()
    rng = np.random.default_rng(0)
    mel = rng.normal(-4, 1, (30, 12)).astype(np.float32)
    wide = rng.normal(-4, 2, (36, 12)).astype(np.float32)
    cfg = dict(CFG, global_variance=1.0)
    for condition, voice in (("speaker", wide), ("recon", mel), ("energy", mel)):
        out = C.convert_one(model, mel, wide, condition, np.random.default_rng(1), cfg)[0]
        plain = C.convert_one(model, mel, wide, condition, np.random.default_rng(1), CFG)[0]
        np.testing.assert_allclose(out.std(0), voice.std(0), rtol=1e-3)
        np.testing.assert_allclose(out.mean(0), plain.mean(0), atol=1e-4)


def test_rendered_register_is_the_rendered_voice_s_analysed_range():
    ranges = {"x": np.array([4.6, 5.0]), "ref": np.array([5.2, 5.6]), "mute": np.array([0.0, 0.0])}
    refs = {"x": "ref", "mute": "x"}
    assert C.rendered_register("recon", "x", refs, ranges, "predicted") is None
    assert C.rendered_register("recon", "x", refs, ranges, "analysed").tolist() == [[pytest.approx(4.6),
                                                                                  pytest.approx(5.0)]]
    assert C.rendered_register("pitch", "x", refs, ranges, "analysed")[0, 0].item() == pytest.approx(4.6)
    assert C.rendered_register("speaker", "x", refs, ranges, "analysed")[0, 1].item() == pytest.approx(5.6)
    assert C.rendered_register("recon", "mute", refs, ranges, "analysed") is None  # nothing voiced: Z_s's
    with pytest.raises(DataError, match="'ref'"):
        C.rendered_register("speaker", "x", refs, {"x": ranges["x"]}, "analysed")


def test_register_choice_defaults_to_the_head_and_names_the_key_of_an_unknown_one():
    assert C.register_choice({}) == "predicted"
    assert C.register_choice({"register": "analysed"}) == "analysed"
    with pytest.raises(ValueError, match="convert.register: 'measured'"):
        C.register_choice({"register": "measured"})


def test_convert_all_renders_in_the_analysed_register(tmp_path):
    torch.manual_seed(0)
    model = build_stn(with_mel_preset({**TINY_MODEL, "harmonic": True}, TINY_MEL_PRESET)).eval()
    rng = np.random.default_rng(0)
    mels = {f"spk00{s}_neutral_000": rng.normal(-4, 1, (30, 12)).astype(np.float32) for s in range(2)}
    refs = {"spk000_neutral_000": "spk001_neutral_000", "spk001_neutral_000": "spk000_neutral_000"}
    ranges = {"spk000_neutral_000": np.array([4.5, 4.6]), "spk001_neutral_000": np.array([5.4, 5.5])}
    rendered = []
    cfg = dict(CFG, conditions=["recon", "speaker"], register="analysed")
    C.convert_all(model, mels, refs, mels, tmp_path, cfg,
                  lambda mel, f0: rendered.append(f0) or np.zeros(8, np.float32), 8000, progress=False,
                  ranges=ranges)
    recon, speaker = rendered[0], rendered[2]  # conditions, then utterances: spk000's X̂, ..., spk000's X_s
    assert (recon > 0).any() and np.all(np.log(recon[recon > 0]) >= 4.5 - 1e-4)
    assert np.all(np.log(recon[recon > 0]) <= 4.6 + 1e-4)
    assert np.all(np.log(speaker[speaker > 0]) >= 5.4 - 1e-4) and np.all(np.log(speaker[speaker > 0]) <= 5.5 + 1e-4)
