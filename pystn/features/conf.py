"""What a feature directory's ``conf.json`` records: settings, frame rate, column meanings."""

from __future__ import annotations

from pystn.features.world import world_columns


def _kaldi_dims(preset: dict) -> tuple[float, list[str]]:
    shift = float(preset.get("frame_shift_ms", 10)) / 1000.0
    if preset["kind"] == "mfcc":
        n = int(preset.get("num_ceps", 13))
        cols = [f"c{i}" for i in range(n)]
        if preset.get("use_energy"):
            cols[0] = "log_energy"
        return shift, cols
    if preset["kind"] == "ser_fbank":
        return shift, ["log_energy"] + [f"log_fbank{i}" for i in range(int(preset.get("n_mels", 40)))]
    cols = [f"log_fbank{i}" for i in range(int(preset.get("num_mel_bins", 23)))]
    return shift, (["log_energy"] + cols) if preset.get("use_energy") else cols


def _frame_and_columns(preset: dict) -> tuple[float | None, list[str]]:
    kind, sr = preset["kind"], preset.get("sample_rate")
    if kind == "mel":
        return preset["hop_length"] / sr, [f"log_mel{i}" for i in range(int(preset["n_mels"]))]
    if kind in ("fbank", "mfcc", "ser_fbank"):
        return _kaldi_dims(preset)
    if kind == "f0":
        return preset["hop_length"] / sr, ["log_f0 (0 = unvoiced)" if preset.get("log") else "f0_hz (0 = unvoiced)"]
    if kind == "energy":
        return preset["hop_length"] / sr, ["rms"]
    if kind == "vad":
        return float(preset.get("frame_shift_ms", 10)) / 1000.0, ["speech (1) / non-speech (0)"]
    if kind == "world":
        return float(preset.get("frame_period_ms", 5.0)) / 1000.0, world_columns(sr, preset)
    if kind == "cmvn":
        return None, ["row 0: sums | count; row 1: sums of squares | 0 (Kaldi CMVN stats, per speaker)"]
    raise ValueError(f"unknown feature kind '{kind}'")


def describe(preset: dict, name: str | None = None) -> dict:
    """The ``conf.json`` record of a preset: settings, frame shift / rate, dims and columns.

    1-d kinds (f0, energy, vad) are stored as vectors [T]; ``dims`` is then 1.
    """
    shift, cols = _frame_and_columns(preset)
    rec = {"name": name, "preset": preset, "kind": preset["kind"], "dims": len(cols),
           "columns": cols, "one_dimensional": preset["kind"] in ("f0", "energy", "vad"),
           "frame_shift_s": shift, "frame_rate_hz": (1.0 / shift) if shift else None}
    if preset["kind"] == "ser_fbank" and preset.get("vad", True):
        rec["note"] = "non-speech frames removed by energy VAD (utterances without speech kept whole)"
    if preset["kind"] in ("f0", "energy"):
        rec["note"] = ("frame count equals the HiFi-GAN mel (center false) with the same hop: "
                       "T = N // hop for an N-sample signal; frame t analysed at sample t*hop")
    return rec
