"""WORLD vocoder features: analysis to one matrix ``[f0 | mcep | bap]`` and resynthesis.

Columns of the [T, 1 + (order + 1) + n_bap] matrix (documented in conf.json):
  0                 F0 in Hz (0 = unvoiced), DIO + StoneMask or Harvest
  1 .. order + 1    mel-cepstrum c_0..c_order of the CheapTrick envelope
                    (pysptk.sp2mc with all-pass constant ``alpha``)
  order + 2 ..      band aperiodicity of D4C (pyworld.code_aperiodicity; n_bap
                    bands, 1 at 16 kHz, 3 at 44.1 kHz)
Frame ``t`` is at ``t * frame_period_ms``; T = 1 + floor(N / sr * 1000 / frame_period_ms).
"""

from __future__ import annotations

import numpy as np

from pystn.features.prosody import _pyworld


def world_settings(sr: int, s: dict) -> dict:
    """Resolved WORLD settings (defaults filled in) shared by analysis and synthesis."""
    import pysptk

    pw = _pyworld()
    f0_floor = float(s.get("f0_floor", 71.0))
    return {
        "frame_period_ms": float(s.get("frame_period_ms", 5.0)),
        "f0_method": s.get("f0_method", "dio"),
        "f0_floor": f0_floor,
        "f0_ceil": float(s.get("f0_ceil", 800.0)),
        "mcep_order": int(s.get("mcep_order", 24)),
        "alpha": float(s["alpha"]) if s.get("alpha") is not None else float(pysptk.util.mcepalpha(sr)),
        "fft_size": int(s.get("fft_size") or pw.get_cheaptrick_fft_size(sr, f0_floor)),
        "n_bap": int(pw.get_num_aperiodicities(sr)),
    }


def world_columns(sr: int, s: dict) -> list[str]:
    """Column names of the WORLD matrix, e.g. ['f0', 'mcep0', ..., 'mcep24', 'bap0']."""
    r = world_settings(sr, s)
    return (["f0"] + [f"mcep{i}" for i in range(r["mcep_order"] + 1)]
            + [f"bap{i}" for i in range(r["n_bap"])])


def world(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """WORLD analysis -> [T, 1 + (order + 1) + n_bap] float32 (see the module docstring)."""
    import pysptk

    pw, r = _pyworld(), world_settings(sr, s)
    x = np.ascontiguousarray(wav, dtype=np.float64)
    if r["f0_method"] == "harvest":
        f0, t = pw.harvest(x, sr, f0_floor=r["f0_floor"], f0_ceil=r["f0_ceil"],
                           frame_period=r["frame_period_ms"])
    elif r["f0_method"] == "dio":
        f0, t = pw.dio(x, sr, f0_floor=r["f0_floor"], f0_ceil=r["f0_ceil"],
                       frame_period=r["frame_period_ms"])
        f0 = pw.stonemask(x, f0, t, sr)
    else:
        raise ValueError(f"unknown WORLD f0_method '{r['f0_method']}' (dio or harvest)")
    sp = pw.cheaptrick(x, f0, t, sr, f0_floor=r["f0_floor"], fft_size=r["fft_size"])
    ap = pw.d4c(x, f0, t, sr, fft_size=r["fft_size"])
    mcep = pysptk.sp2mc(sp, order=r["mcep_order"], alpha=r["alpha"])
    bap = pw.code_aperiodicity(ap, sr)
    return np.hstack([f0[:, None], mcep, bap]).astype(np.float32)


def world_split(mat: np.ndarray, sr: int, s: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a WORLD matrix [T, D] into (f0 [T], mcep [T, order+1], bap [T, n_bap])."""
    r = world_settings(sr, s)
    m = r["mcep_order"] + 1
    if mat.ndim != 2 or mat.shape[1] != 1 + m + r["n_bap"]:
        raise ValueError(f"WORLD matrix of shape {mat.shape} does not match order {r['mcep_order']}"
                         f" and {r['n_bap']} aperiodicity bands at {sr} Hz")
    return mat[:, 0], mat[:, 1:1 + m], mat[:, 1 + m:]


def world_synthesize(mat: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """WORLD synthesis of a ``[f0 | mcep | bap]`` matrix -> waveform [N] float32.

    Envelope ``pysptk.mc2sp(mcep, alpha, fft_size)``, aperiodicity
    ``pyworld.decode_aperiodicity(bap)``, then ``pyworld.synthesize``.
    """
    import pysptk

    pw, r = _pyworld(), world_settings(sr, s)
    f0, mcep, bap = (np.ascontiguousarray(a, dtype=np.float64) for a in world_split(mat, sr, s))
    sp = pysptk.mc2sp(mcep, alpha=r["alpha"], fftlen=r["fft_size"])
    ap = pw.decode_aperiodicity(bap, sr, r["fft_size"])
    y = pw.synthesize(np.where(f0 > 0, f0, 0.0), np.ascontiguousarray(sp),
                      np.ascontiguousarray(ap), sr, r["frame_period_ms"])
    return y.astype(np.float32)
