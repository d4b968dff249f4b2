"""SpeechTripleNet editing (paper §4.4): speaker swap, pitch / energy edits, emphasis, statement -> question.

For a source X (mel [T, M]) the encoders give Z_c (posterior mean), Z_s (mean) and
the marginal pitch / energy bins of q(Z_p|X) (argmax of each marginal); the decoder hears
those bins, and the harmonic source renders them with the encoder's sub-bin detail
(:func:`sub_bin_position`). Conditions:

* ``copy``: the ground-truth mel itself (vocoder-only reference).
* ``recon`` X̂ = dec(Z_c, Z_s, Z_p).
* ``speaker`` X_s = dec(Z_c, Z'_s, Z_p), Z'_s from a reference utterance X' of another
  test speaker, chosen with the seed (``refs`` file: ``utt ref_utt``). ``reference: parallel``
  draws X' among the other speakers' readings of X's sentence in X's style
  (:func:`parallel_keys`), so that X and X' differ in the speaker alone; ``any``: among
  all converted utterances of other speakers.
* ``pitch`` X_f / ``energy`` X_e: the pitch (energy) bins of voiced segments shifted up or
  down by ``amount`` bins in a random direction per segment (:func:`pystn.prosody.shift_segments`).
* ``emphasis``: pitch and energy of one word-like span set to the top bin
  (:func:`pystn.prosody.emphasis_span`; ``spans`` file: ``utt start end``).
* ``question``: pitch and energy raised along a ramp to the top bin over the final span.

``global_variance`` w > 0 (recipe addition): every decoded mel passes the global-variance
postfilter (:func:`global_variance`), each bin's spread over time moved toward that of the
rendered voice's utterance (X' for ``speaker``, X for the others) by the power w.

The harmonic source renders the pitch in a register (the voiced log-F0 range): ``register:
predicted`` reads it from the rendered voice's Z_s (the model's head); ``analysed`` takes the
analysed range of the utterance whose voice is rendered, X' for ``speaker`` and X for the others
(:func:`rendered_register`), as the speaker spectrum takes X''s average spectrum.

Every condition writes ``<out>/<condition>/feats.{ark,scp}`` (mel), ``codes.{ark,scp}``
([T, 2]: the pitch and energy bins decoded), ``wav/<utt>.wav`` and ``wav.scp``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pystn import prosody as P
from pystn.data import DataDir, read_data_dir
from pystn.io import DataError, write_ark_scp, write_kv

CONDITIONS = ("copy", "recon", "speaker", "pitch", "energy", "emphasis", "question")


def choose_utts(utt2spk: dict, per_speaker: int, seed: int, utt2group: dict | None = None) -> list[str]:
    """Up to ``per_speaker`` utterances of every speaker, drawn with ``seed`` (C-sorted result).

    With ``utt2group`` (utt -> style, e.g. ``utt2emo``) each speaker's draw is spread evenly over
    its groups: a random utterance of each group in turn, the groups in a random order. A measure
    that depends on the style (pitch PCC is ill-conditioned on monotone sad speech) is then not
    swayed by the style mix that a small draw happens to have."""
    rng = np.random.default_rng(seed)
    spk2utt: dict[str, list[str]] = {}
    for u in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[u], []).append(u)
    chosen = []
    for spk in sorted(spk2utt):
        utts = spk2utt[spk]
        if per_speaker <= 0:
            chosen += utts
        elif utt2group is None:
            chosen += [utts[i] for i in rng.permutation(len(utts))[:per_speaker]]
        else:
            chosen += spread_over_groups(utts, utt2group, per_speaker, rng)
    return sorted(chosen)


def spread_over_groups(utts: list[str], utt2group: dict, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` of ``utts`` taken round-robin over their groups (random group order, random utterance
    order within each group); an utterance missing from ``utt2group`` is its own group ''."""
    groups: dict[str, list[str]] = {}
    for u in utts:
        groups.setdefault(utt2group.get(u, ""), []).append(u)
    names = sorted(groups)
    order = [names[j] for j in rng.permutation(len(names))]
    queues = [[groups[g][i] for i in rng.permutation(len(groups[g]))] for g in order]
    picked = []
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def parallel_keys(texts: dict[str, str], utt2emo: dict[str, str] | None = None) -> dict[str, tuple]:
    """utt -> (transcript upper-cased with its whitespace collapsed, emotion label or None): utterances
    with equal keys are parallel readings (the same sentence in the same style). An utterance with
    an empty transcript has no key (it reads no sentence another speaker could share)."""
    emo = utt2emo or {}
    return {u: (" ".join(t.upper().split()), emo.get(u)) for u, t in texts.items() if t.strip()}


def split_reading_keys(data: DataDir, data_dir: str | Path) -> dict[str, tuple]:
    """:func:`parallel_keys` of a data split (``data`` read from ``data_dir`` by
    :func:`pystn.data.read_data_dir`) from its ``text`` and, when present, ``utt2emo``."""
    if "text" not in data.maps:
        raise DataError(f"{Path(data_dir) / 'text'}: missing; convert.reference 'parallel' matches references "
                        "by transcript (set convert.reference: any for a corpus without one)")
    return parallel_keys(data.maps["text"], data.maps.get("utt2emo"))


def choose_references(utts: list[str], utt2spk: dict, seed: int, keys: dict[str, tuple] | None = None
                      ) -> dict[str, str]:
    """utt -> a reference utterance X' of a different speaker, drawn with ``seed``.

    Without ``keys``: among ``utts``. With ``keys`` (:func:`parallel_keys` of the whole split): among
    every other speaker's utterance whose key equals the source's; a source without such a
    parallel utterance falls back to the draw among ``utts``."""
    rng = np.random.default_rng(seed + 1)
    keys = keys or {}
    readings: dict[tuple, list[str]] = {}
    for v, key in sorted(keys.items()):
        readings.setdefault(key, []).append(v)
    refs = {}
    for u in utts:
        speaker = utt2spk[u]
        parallel = [v for v in readings.get(keys.get(u), []) if utt2spk.get(v, speaker) != speaker]
        others = parallel or [v for v in utts if utt2spk[v] != speaker]
        if not others:
            raise ValueError(f"utterance '{u}': no utterance of another speaker to take Z_s from")
        refs[u] = others[int(rng.integers(len(others)))]
    return refs


def sources_and_references(mel_scp: str, data_dir: str | Path, cfg: dict, min_frames: int = 16
                           ) -> tuple[dict, dict, dict, dict | None]:
    """(source mels, refs, reference mels, parallel keys or None) of the ``convert:`` block ``cfg``
    (per_speaker, seed, reference): the sources of :func:`choose_utts` (spread over the styles of
    ``<data_dir>/utt2emo`` when the split has one) with at least ``min_frames``,
    and for each its X' (:func:`choose_references`) among utterances that are that long too. Every
    mel [T, M] is read once; with ``reference: parallel`` the reference mels are the whole split's."""
    from pystn.batching import load_feats

    data = read_data_dir(data_dir)  # utt2spk, and text and utt2emo where the split has them
    utts = choose_utts(data.utt2spk, int(cfg["per_speaker"]), int(cfg["seed"]), data.maps.get("utt2emo"))
    keys = split_reading_keys(data, data_dir) if cfg["reference"] == "parallel" else None
    usable = load_feats(mel_scp, None if keys else utts, min_frames=min_frames)
    mels = {u: usable[u] for u in utts if u in usable}
    if not mels:
        raise DataError(f"{mel_scp}: none of the utterances chosen for conversion has {min_frames} frames")
    if keys:
        keys = {u: k for u, k in keys.items() if u in usable}
    return mels, choose_references(sorted(mels), data.utt2spk, int(cfg["seed"]), keys), usable, keys


def edit_bins(condition: str, bins_f: np.ndarray, bins_e: np.ndarray, rng: np.random.Generator,
              cfg: dict) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    """The (pitch, energy) bins [T] to decode for a prosody ``condition``, plus the edited span if any."""
    top = P.N_BINS - 1
    if condition == "pitch":
        return P.shift_segments(bins_f, bins_f, rng, cfg["pitch_shift"], lo=1), bins_e, None
    if condition == "energy":
        # floor 1, the paper's lowest edited energy (Fig. 2): bin 0 holds 80 % of the unvoiced frames
        # and 8 % of the voiced ones, and voiced segments lowered into it lost their phones
        return bins_f, P.shift_segments(bins_e, bins_f, rng, cfg["energy_shift"], lo=1), None
    if condition == "emphasis":
        span = P.emphasis_span(bins_f, bins_e, rng, cfg.get("emphasis_min_frames", 5))
        return P.set_span(bins_f, bins_f, span, top), P.set_span(bins_e, bins_f, span, top), span
    if condition == "question":
        span = P.final_span(bins_f, cfg.get("question_fraction", 0.25))
        return P.rising_contour(bins_f, bins_f, span), P.rising_contour(bins_e, bins_f, span), span
    return bins_f, bins_e, None


REGISTERS = ("predicted", "analysed")  # the first is the default


def register_choice(cfg: dict) -> str:
    """``cfg['register']`` (the ``convert`` section; 'predicted' when absent), validated."""
    how = cfg.get("register", REGISTERS[0])
    if how not in REGISTERS:
        raise ValueError(f"convert.register: '{how}' is not one of {REGISTERS}")
    return how


def rendered_register(condition: str, utt: str, refs: dict, ranges: dict | None, how: str) -> torch.Tensor | None:
    """The register [1, 2] (voiced log-F0 lo, hi) the harmonic source renders ``utt`` in under
    ``condition``: None (the model predicts it from Z_s) for ``how`` = 'predicted', or for an
    utterance with nothing voiced; else ``ranges`` (utt -> :func:`pystn.prosody.voiced_range`)
    of X' (``refs[utt]``) for ``speaker`` and of X for the other conditions. ``how``: one of
    :data:`REGISTERS` (:func:`register_choice`)."""
    if how == "predicted":
        return None
    voice = refs[utt] if condition == "speaker" else utt
    if ranges is None or voice not in ranges:
        raise DataError(f"convert.register analysed: no analysed F0 for utterance '{voice}' (pass --f0-scp)")
    lo, hi = (float(x) for x in ranges[voice])
    return torch.tensor([[lo, hi]]) if hi > lo else None


def global_variance(mel: np.ndarray, voice_mel: np.ndarray, weight: float) -> np.ndarray:
    """The global-variance postfilter of statistical voice conversion, in its variance-scaling form
    (after Toda, Black & Tokuda 2007, IEEE TASLP 15(8)): decoded log-mel ``mel`` [T, M] with each
    bin's deviations from its mean over time scaled by (σ_voice / σ_mel) ** ``weight``, σ the
    per-bin std over time of ``mel`` and of ``voice_mel`` [T', M], the utterance whose voice is
    rendered. A decoder trained on the Gaussian NLL of Eq. 4
    regresses toward the mean and smooths the bins' spread; the spread is also the voice's, as
    the mean is (the speaker spectrum). ``weight`` 0 returns ``mel``; 1 gives σ_voice exactly."""
    if weight == 0:
        return mel
    mean, spread = mel.mean(0), mel.std(0) + 1e-6
    gain = (voice_mel.std(0) / spread) ** weight
    return (mean + (mel - mean) * gain).astype(mel.dtype)


def _onehot(bins: np.ndarray, n: int) -> torch.Tensor:
    return F.one_hot(torch.as_tensor(bins, dtype=torch.long), n).float()[None]


def sub_bin_position(bins_f: np.ndarray, detail: np.ndarray, n_bins: int) -> torch.Tensor:
    """The pitch position [1, T] the harmonic source renders: the (edited) pitch bins [T] plus the
    source's sub-bin ``detail`` [T] (:meth:`SpeechTripleNet.analyse`), inside the voiced bins
    [1, n_bins - 1]; 0 where the bins are unvoiced. An edit moves the bins; the detail rides along."""
    position = np.where(bins_f > 0, np.clip(bins_f + detail, 1, n_bins - 1), 0.0)
    return torch.as_tensor(position, dtype=torch.float32)[None]


def decoded_f0(dec: dict) -> np.ndarray | None:
    """F0 in Hz [T] (0 unvoiced) of one decoded utterance: the harmonic source's rendered
    contour; None for a model without the harmonic source."""
    if "source_log_f0" not in dec:
        return None
    log_f0 = dec["source_log_f0"][0].numpy()
    return np.where(log_f0 > 0, np.exp(log_f0), 0.0).astype(np.float32)


@torch.no_grad()
def convert_one(model, mel: np.ndarray, ref_mel: np.ndarray | None, condition: str,
                rng: np.random.Generator, cfg: dict, source_f0: np.ndarray | None = None,
                contours: np.ndarray | None = None, register: torch.Tensor | None = None
                ) -> tuple[np.ndarray, np.ndarray, tuple | None, np.ndarray | None]:
    """``condition`` for source ``mel`` [T, M] -> (mel [T, M], codes [T, 2], span, F0 [T] Hz or None).

    The F0 is the harmonic source's (:func:`decoded_f0`); for ``copy`` it is
    ``source_f0`` (the analysed F0 of the source, Hz), so copy-synthesis measures the vocoder alone.
    ``contours`` [T, 3]: the source's prosody contours, for a model whose prosody encoder reads them.
    ``register`` [1, 2]: the harmonic source's voiced log-F0 range (:func:`rendered_register`;
    None: predicted from the rendered voice's Z_s). ``cfg['global_variance']`` (0 when absent): the
    weight of :func:`global_variance` toward the rendered voice's spread (``ref_mel``'s for ``speaker``).
    """
    a = model.analyse(torch.from_numpy(np.array(mel, dtype=np.float32))[None],
                      None if contours is None else torch.from_numpy(contours)[None])
    has_p = model.has_prosody
    bins_f = a["bins_f"].numpy() if has_p else np.zeros(len(mel), dtype=np.int64)
    bins_e = a["bins_e"].numpy() if has_p else np.zeros(len(mel), dtype=np.int64)
    if condition == "copy":
        return mel, np.stack([bins_f, bins_e], 1).astype(np.float32), None, source_f0
    z_s, spectrum, voice = a["z_s"], a["spectrum"], mel
    if condition == "speaker":
        voice = ref_mel
        ref = torch.from_numpy(np.array(ref_mel, dtype=np.float32))[None]
        z_s, spectrum = model.encode_speaker(ref)[0], model.spectrum_of(ref)  # μ_s
    span = None
    if has_p:
        bins_f, bins_e, span = edit_bins(condition, bins_f, bins_e, rng, cfg)
    codes = (_onehot(bins_f, model.n_bins), _onehot(bins_e, model.n_bins)) if has_p else (None, None)
    position = sub_bin_position(bins_f, a["pitch_detail"].numpy(), model.n_bins) if has_p else None
    dec = model.decode_all(a["z_c"], z_s, *codes, f0_range=register, pitch_position=position, spectrum=spectrum)
    out = global_variance(dec["mel"][0].numpy(), np.asarray(voice), float(cfg.get("global_variance", 0.0)))
    return out, np.stack([bins_f, bins_e], 1).astype(np.float32), span, decoded_f0(dec)


def conditions_for(model, wanted: list[str]) -> list[str]:
    """The requested conditions this model can do (β-VAEVC has no prosody latent to edit)."""
    unknown = sorted(set(wanted) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unknown conversion conditions {unknown} (known: {CONDITIONS})")
    prosodic = {"pitch", "energy", "emphasis", "question"}
    return [c for c in wanted if model.has_prosody or c not in prosodic]


def convert_all(model, mels: dict, refs: dict, ref_mels: dict, out_dir: str | Path, cfg: dict, vocoder,
                sample_rate: int, progress: bool = True, source_f0: dict | None = None,
                contours: dict | None = None, ranges: dict | None = None) -> dict:
    """Run every condition of ``cfg['conditions']`` on the ``mels`` (utt -> [T, M]) into ``out_dir``.

    ``refs``: utt -> its reference utterance X' (:func:`choose_references`), whose mel is in
    ``ref_mels``; ``cfg``: conditions, seed, pitch_shift, energy_shift, emphasis_min_frames, question_fraction;
    ``vocoder(mel, f0)`` (:func:`pystn.vocoder.make_vocoder`); ``source_f0``: utt -> analysed F0 [T]
    in Hz (the copy-synthesis excitation); ``contours``: utt -> prosody contours [T, 3]
    (:func:`pystn.prosody.model_contours`, for a ``prosody_contours`` model); ``ranges``: utt -> analysed
    voiced log-F0 range [2] of sources and references (``cfg['register']`` 'analysed'). Returns
    {condition: n_utterances}.
    """
    import soundfile as sf
    from tqdm import tqdm

    out_dir = Path(out_dir)
    utts = sorted(mels)
    how = register_choice(cfg)
    done = {}
    for cond in conditions_for(model, cfg["conditions"]):
        cdir = out_dir / cond
        (cdir / "wav").mkdir(parents=True, exist_ok=True)
        feats, codes, spans, wavs = [], [], {}, {}
        for i, u in enumerate(tqdm(utts, desc=f"convert {cond}", disable=not progress, mininterval=2.0)):
            rng = np.random.default_rng([cfg["seed"], i, CONDITIONS.index(cond)])
            register = rendered_register(cond, u, refs, ranges, how)
            mel, code, span, f0 = convert_one(model, mels[u], ref_mels[refs[u]], cond, rng, cfg,
                                              (source_f0 or {}).get(u), (contours or {}).get(u), register)
            feats.append((u, mel.astype(np.float32)))
            codes.append((u, code))
            if span is not None:
                spans[u] = f"{span[0]} {span[1]}"
            wav_path = cdir / "wav" / f"{u}.wav"
            sf.write(str(wav_path), np.clip(vocoder(mel, f0), -1, 1), sample_rate, subtype="PCM_16")
            wavs[u] = str(wav_path)
        write_ark_scp(cdir / "feats.ark", cdir / "feats.scp", feats)
        write_ark_scp(cdir / "codes.ark", cdir / "codes.scp", codes)
        write_kv(cdir / "wav.scp", wavs)
        if cond == "speaker":
            write_kv(cdir / "refs", {u: refs[u] for u in utts})
        if spans:
            write_kv(cdir / "spans", spans)
        done[cond] = len(utts)
    return done
