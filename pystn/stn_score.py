"""Objective evaluation of SpeechTripleNet editing (paper Table 1, 2 objective part, 3; emphasis check).

Per converted utterance (``score_variant``), against the source X and the reference X':

* content: PER of the project's phone recogniser (:class:`pystn.recognizer.PhoneRecognizer`)
  against the espeak-ng phones of the transcript, and pocketsphinx WER (its shipped
  US-English acoustic model and LM) on a subset;
* speaker: cosine similarity of Resemblyzer / x-vector embeddings of the output with X and X';
  and, free of any embedder's view of vocoded audio, the L2 distance of its average
  spectrum (mean log-mel over frames, the ``stn_mel`` preset) to X's and to X''s
  (:func:`average_spectrum`);
* prosody: Pearson correlation with X of log-F0 (RAPT, the ``stn_f0`` preset, on frames
  voiced in both) and of RMS energy (``stn_energy``), both computed from the audio.
  The output has the source's frame count (the decoder is frame-synchronous), so frames
  are compared one to one after trimming to the shorter track (no DTW);
* the prosody encoder (``copy`` condition, whose codes are X's own): the fraction of frames
  whose pitch / energy bins equal the quantised analysis of X (:func:`bin_accuracy`).

Table 3 (``latent_eer``): speaker verification on all test pairs with cosine scores of
time-averaged latents: Z_f / Z_e (the pitch / energy marginal posteriors, 8-d),
Z_p (the joint posterior, 64-d) and Z_s (the speaker posterior mean); and, a recipe addition,
Z_c (the content posterior mean): how much of the speaker the content path keeps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pystn import metrics
from pystn.io import DataError, read_kv, read_scp


def prosody_tracks(path: str, f0_preset: dict, energy_preset: dict) -> tuple[np.ndarray, np.ndarray]:
    """(log-F0 [T] with unvoiced 0, energy [T]) of an audio file."""
    from pystn.features import extract_file

    return extract_file(f0_preset, path).reshape(-1), extract_file(energy_preset, path).reshape(-1)


def average_spectrum(path: str, mel_preset: dict) -> np.ndarray:
    """Mean log-mel [M] over all frames of a wav: the voice's long-term spectrum."""
    from pystn.features import extract_file

    return extract_file(mel_preset, path).mean(0)


def prosody_pcc(gen: tuple, ref: tuple) -> tuple[float, float]:
    """Pitch PCC (frames voiced in both) and energy PCC (all frames) of two (log-F0, energy) tracks."""
    n = min(len(gen[0]), len(ref[0]))
    fg, fr = gen[0][:n], ref[0][:n]
    both = (fg > 0) & (fr > 0)
    pitch = metrics.pearson(fg[both], fr[both]) if both.sum() >= 3 else float("nan")
    m = min(len(gen[1]), len(ref[1]))
    return pitch, metrics.pearson(gen[1][:m], ref[1][:m])


def bin_accuracy(codes: np.ndarray, src: tuple) -> tuple[float, float]:
    """Fraction of frames where the prosody encoder's (pitch, energy) bins ``codes`` [T, 2] equal the
    quantised analysis of the source (log-F0, energy) tracks: the encoder's accuracy on Eq. 2's target."""
    from pystn.prosody import quantize_energy, quantize_pitch

    pitch, energy = quantize_pitch(src[0]), quantize_energy(src[1])  # per whole utterance, as in training
    n = min(len(codes), len(pitch), len(energy))
    bins = np.rint(codes[:n]).astype(np.int64)
    return float(np.mean(bins[:, 0] == pitch[:n])), float(np.mean(bins[:, 1] == energy[:n]))


def span_rise(gen: tuple, ref: tuple, span: tuple[int, int]) -> tuple[float, float]:
    """(mean F0 in Hz of voiced frames, mean energy) of the span in ``gen`` minus in ``ref``."""
    a, b = span

    def mean_f0(track):
        seg = track[a:b]
        return float(np.exp(seg[seg > 0]).mean()) if (seg > 0).any() else float("nan")

    return mean_f0(gen[0]) - mean_f0(ref[0]), float(gen[1][a:b].mean() - ref[1][a:b].mean())


class PocketsphinxASR:
    """Word recogniser with pocketsphinx's bundled US-English model (16 kHz int16 input)."""

    def __init__(self):
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=16000, loglevel="FATAL")

    def words(self, path: str) -> list[str]:
        from pystn.features import load_audio

        wav, _ = load_audio(path, 16000)
        self.decoder.start_utt()
        self.decoder.process_raw((np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr.upper().split() if hyp is not None else []


def cached(fn):
    """Memoise ``fn(path)`` (sources and references are scored once for all conditions)."""
    memo = {}

    def inner(path):
        if path not in memo:
            memo[path] = fn(path)
        return memo[path]

    return inner


def score_utterance(u: str, gen_wav: str, src_wav: str, ref_wav: str, tools: dict, text: str) -> dict:
    """Every Table 1 measure of one output ``gen_wav`` (see the module docstring)."""
    row = {"utt": u}
    if "recognizer" in tools:
        rec, phones = tools["recognizer"]
        ref_ph = phones(text)
        row["per_edits"], row["per_len"] = metrics.edit_distance(ref_ph, rec(gen_wav)), len(ref_ph)
    if "asr" in tools and u in tools["asr_utts"]:
        words = text.upper().split()
        row["wer_edits"], row["wer_len"] = metrics.edit_distance(words, tools["asr"](gen_wav)), len(words)
    for name in ("resemblyzer", "xvector"):
        if name in tools:
            emb = tools[name]
            row[f"cs_x_{name}"] = metrics.cosine(emb(gen_wav), emb(src_wav))
            row[f"cs_xref_{name}"] = metrics.cosine(emb(gen_wav), emb(ref_wav))
    if "spectrum" in tools:
        spec = tools["spectrum"]
        row["spec_dist_x"] = float(np.linalg.norm(spec(gen_wav) - spec(src_wav)))
        row["spec_dist_xref"] = float(np.linalg.norm(spec(gen_wav) - spec(ref_wav)))
    gen, src = tools["prosody"](gen_wav), tools["prosody"](src_wav)
    row["pitch_pcc"], row["energy_pcc"] = prosody_pcc(gen, src)
    return row


def score_condition(cond_dir: Path, data_wavs: dict, texts: dict, refs: dict, tools: dict,
                    progress: bool = True) -> list[dict]:
    """Rows of :func:`score_utterance` for every utterance of one condition directory."""
    from tqdm import tqdm

    wavs = read_kv(cond_dir / "wav.scp")
    spans = {u: tuple(int(x) for x in v.split()) for u, v in read_kv(cond_dir / "spans").items()} \
        if (cond_dir / "spans").is_file() else {}
    codes = read_scp(cond_dir / "codes.scp") if cond_dir.name == "copy" and (cond_dir / "codes.scp").is_file() else {}
    rows = []
    for u in tqdm(sorted(wavs), desc=f"score {cond_dir.name}", disable=not progress, mininterval=2.0):
        if u not in data_wavs or u not in texts:
            raise DataError(f"{cond_dir}: utterance '{u}' is not in the test data dir (wav.scp / text)")
        row = score_utterance(u, wavs[u], data_wavs[u], data_wavs[refs[u]], tools, texts[u])
        if u in spans:  # emphasis / question: the edited span against X and against X̂
            gen = tools["prosody"](wavs[u])
            row["f0_rise_hz"], row["energy_rise"] = span_rise(gen, tools["prosody"](data_wavs[u]), spans[u])
            recon = cond_dir.parent / "recon" / "wav" / f"{u}.wav"
            if recon.is_file():
                row["f0_rise_vs_recon_hz"], row["energy_rise_vs_recon"] = span_rise(
                    gen, tools["prosody"](str(recon)), spans[u])
        if u in codes:  # copy: the source's own (unedited) prosody codes
            row["pitch_bin_acc"], row["energy_bin_acc"] = bin_accuracy(codes[u], tools["prosody"](data_wavs[u]))
        rows.append({"condition": cond_dir.name, **row})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Corpus-level measures of one condition's rows: PER / WER (total edits / total length), means."""
    out = {"n": len(rows)}
    for rate in ("per", "wer"):
        edits = [r[f"{rate}_edits"] for r in rows if f"{rate}_edits" in r]
        if edits:
            out[rate] = sum(edits) / max(1, sum(r[f"{rate}_len"] for r in rows if f"{rate}_edits" in r))
    keys = {k for r in rows for k in r if k.startswith(("cs_", "spec_", "pitch_", "energy_pcc", "energy_bin"))}
    for k in sorted(keys):
        out[k] = float(np.nanmean([r.get(k, np.nan) for r in rows]))
    for ref in ("", "_vs_recon"):
        rises = [(r[f"f0_rise{ref}_hz"], r[f"energy_rise{ref}"]) for r in rows if f"f0_rise{ref}_hz" in r]
        if rises:
            f0r, enr = np.array(rises).T
            out[f"f0_rise{ref}_hz"], out[f"energy_rise{ref}"] = float(np.nanmean(f0r)), float(np.mean(enr))
            out[f"both_rise{ref}_frac"] = float(np.mean((f0r > 0) & (enr > 0)))
    return out


@torch.no_grad()
def latent_embeddings(model, mels: dict, contours: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Time-averaged latents per utterance: {'Z_f','Z_e','Z_p','Z_s','Z_c'} -> {utt: vector}; ``contours``:
    utt -> prosody contours [T, 3], for a model whose prosody encoder reads them. Z_c is μ_c
    [T, d_content] averaged over time (not in the paper's Table 3: the speaker in the content path)."""
    from pystn.prosody import marginals

    out = {"Z_f": {}, "Z_e": {}, "Z_p": {}, "Z_s": {}, "Z_c": {}}
    for u, mel in mels.items():
        x = torch.tensor(mel)[None]
        out["Z_s"][u] = model.encode_speaker(x)[0][0].numpy()
        out["Z_c"][u] = model.encode_content(x)[0][0].mean(0).numpy()
        if model.has_prosody:
            c = None if contours is None else torch.tensor(contours[u])[None]
            q = model.prosody_logits(x, c).softmax(-1)[0]  # [T, 64]
            pf, pe = marginals(q, model.n_bins)
            out["Z_p"][u], out["Z_f"][u], out["Z_e"][u] = (q.mean(0).numpy(), pf.mean(0).numpy(),
                                                         pe.mean(0).numpy())
    return {k: v for k, v in out.items() if v}


def target_embeddings(log_f0: dict, energy: dict, utts: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Time-averaged one-hot targets of Eq. 2 per utterance: {'Y_f','Y_e'} -> {utt: [n_bins]}, the
    histograms of the per-utterance min-max quantised log-F0 [T] and energy [T]. The limit that
    Z_f and Z_e approach as the prosody code matches its target, so EER(Y_f) is the floor that
    EER(Z_f) reaches without the code holding more than its self-supervision asks."""
    from pystn.prosody import N_BINS, quantize_energy, quantize_pitch

    def hist(bins: np.ndarray) -> np.ndarray:
        return np.bincount(bins, minlength=N_BINS) / max(len(bins), 1)

    return {"Y_f": {u: hist(quantize_pitch(log_f0[u].reshape(-1))) for u in utts},
            "Y_e": {u: hist(quantize_energy(energy[u].reshape(-1))) for u in utts}}


def target_distance(embs: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    """How far each time-averaged code is from its time-averaged Eq. 2 target: the L1 distance
    between Z_f and Y_f (and Z_e and Y_e), both [n_bins] histograms, averaged over the utterances
    (0: the code is its target; 2: no overlap). Empty without the targets or the prosody latent."""
    out = {}
    for z, y in (("Z_f", "Y_f"), ("Z_e", "Y_e")):
        if z in embs and y in embs:
            out[f"l1_{z}_{y}"] = float(np.mean([np.abs(embs[z][u] - embs[y][u]).sum() for u in embs[y]]))
    return out


@torch.no_grad()
def register_fit(model, z_s: dict[str, np.ndarray], log_f0: dict) -> dict[str, float]:
    """How the harmonic source's register, read from each utterance's μ_s (``z_s``: utt -> [D_s],
    the ``Z_s`` of :func:`latent_embeddings`), follows its analysed voiced log-F0 (min, max)
    (:func:`pystn.prosody.voiced_range`): Pearson correlation of predicted and analysed min and
    max, and the spread (std of the predicted mid-range over std of the analysed one; < 1:
    compressed toward the training mean). Empty for a model without the harmonic source."""
    from pystn.prosody import voiced_range

    if not getattr(model, "harmonic", None):
        return {}
    pred, true = [], []
    for u, mu_s in z_s.items():
        target = voiced_range(log_f0[u])
        if target[1] <= 0:
            continue
        pred.append(model.f0_range(torch.tensor(mu_s)[None])[0].numpy())
        true.append(target)
    pred, true = np.array(pred, dtype=np.float64), np.array(true, dtype=np.float64)
    if len(true) < 3:
        return {}
    return {"register_pcc_min": metrics.pearson(pred[:, 0], true[:, 0]),
            "register_pcc_max": metrics.pearson(pred[:, 1], true[:, 1]),
            "register_spread": float(pred.mean(1).std() / max(true.mean(1).std(), 1e-9))}


def latent_eer(embs: dict[str, dict[str, np.ndarray]], utt2spk: dict) -> dict[str, float]:
    """EER of cosine scoring over every pair of utterances, for each latent of ``embs``."""
    utts = sorted(next(iter(embs.values())))
    spk = np.array([utt2spk[u] for u in utts])
    i, j = np.triu_indices(len(utts), k=1)
    labels = (spk[i] == spk[j]).astype(int)
    out = {}
    for name, table in embs.items():
        e = np.stack([table[u] for u in utts]).astype(np.float64)
        e /= np.linalg.norm(e, axis=1, keepdims=True) + 1e-12
        out[f"eer_{name}"] = metrics.eer((e[i] * e[j]).sum(1), labels)
    return out


def closer_to_reference(rows: list[dict], name: str) -> float:
    """Fraction of rows whose output is nearer X' than X: by the cosine similarity of embedder
    ``name``, or for 'spectrum' by the distance of the average spectra."""
    if name == "spectrum":
        pairs = [(r["spec_dist_x"], r["spec_dist_xref"]) for r in rows if "spec_dist_x" in r]
    else:
        pairs = [(r[f"cs_xref_{name}"], r[f"cs_x_{name}"]) for r in rows if f"cs_x_{name}" in r]
    return float(np.mean([a > b for a, b in pairs])) if pairs else float("nan")


TABLE1_ROWS = [("per", "content: project PER"), ("wer", "content: pocketsphinx WER"),
               ("cs_x_resemblyzer", "CS with X (Resemblyzer)"), ("cs_xref_resemblyzer", "CS with X' (Resemblyzer)"),
               ("closer_to_xref_resemblyzer", "closer to X' than to X (Resemblyzer; share of pairs)"),
               ("cs_x_xvector", "CS with X (x-vector)"), ("cs_xref_xvector", "CS with X' (x-vector)"),
               ("closer_to_xref_xvector", "closer to X' than to X (x-vector; share of pairs)"),
               ("spec_dist_x", "average spectrum: distance to X (mean log-mel, L2)"),
               ("spec_dist_xref", "average spectrum: distance to X'"),
               ("closer_to_xref_spectrum", "average spectrum nearer X' than X (share of pairs)"),
               ("pitch_pcc", "pitch PCC with X"), ("energy_pcc", "energy PCC with X"),
               ("pitch_bin_acc", "prosody encoder: pitch bins right (frames)"),
               ("energy_bin_acc", "prosody encoder: energy bins right (frames)")]
TABLE1_COLS = [("source", "X (source audio)"), ("copy", "X copy-synth"), ("recon", "X̂"), ("speaker", "X_s"),
               ("pitch", "X_f"), ("energy", "X_e"),
               ("global_swap", "X_s by WORLD global statistics (reference)")]
PAPER_KEYS = {"per": "cer", "cs_x_resemblyzer": "cs_x", "cs_xref_resemblyzer": "cs_xref",
              "pitch_pcc": "pitch_pcc", "energy_pcc": "energy_pcc"}


def fmt_cell(v) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4f}"


def table1(summary: dict, paper: dict) -> tuple[list[str], list[list[str]]]:
    """Table 1 rows (measure x condition): 'this run (paper)'; paper CER stands beside the PER."""
    header = ["measure"] + [label for _, label in TABLE1_COLS]
    rows = []
    for key, label in TABLE1_ROWS:
        if not any(key in summary.get(c, {}) for c, _ in TABLE1_COLS):
            continue
        cells = [label]
        for cond, _ in TABLE1_COLS:
            this = fmt_cell(summary.get(cond, {}).get(key))
            ref = paper.get(cond, {}).get(PAPER_KEYS.get(key, ""), None)
            cells.append(this if ref is None else f"{this} ({ref:.4f})")
        rows.append(cells)
    return header, rows
