#!/usr/bin/env python
"""Stage 06: Table 1's reference column, the WORLD global-statistics speaker swap (no model).

usage: global_swap_stn.py --config-json JSON <data-dir> <mel-scp> <out-dir>

JSON: {'convert': {per_speaker, seed, reference}, 'world': the world preset}. The sources and
their references X' are drawn exactly as stn_convert draws them
(pystn.models.stn_convert.sources_and_references on the same test split, mels and settings), so
each source's swap toward its X' sits beside the models' X_s. The swap needs the test data
alone: it runs once per corpus, beside the training, and a new model does not redo it.
Writes <out-dir>/wav/<utt>.wav, <out-dir>/refs and, last, <out-dir>/wav.scp.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def write_global_swaps(utts: list[str], wavs: dict, refs: dict, world_preset: dict, out: Path,
                       progress: bool) -> None:
    """WORLD global-statistics swap (:func:`pystn.vocoder.world_global_swap`) of each source
    toward its reference -> <out>/wav/<utt>.wav, <out>/refs and, last, <out>/wav.scp."""
    import numpy as np
    import soundfile as sf
    from tqdm import tqdm

    from pystn.io import DataError, atomic_path, write_kv
    from pystn.vocoder import world_global_swap

    (out / "wav").mkdir(parents=True, exist_ok=True)
    done = {}
    for u in tqdm(utts, desc="global swap", disable=not progress, mininterval=2.0):
        (x, sr), (y, sr_ref) = sf.read(wavs[u], dtype="float32"), sf.read(wavs[refs[u]], dtype="float32")
        if sr != sr_ref:
            raise DataError(f"{wavs[u]} ({sr} Hz) and its reference {wavs[refs[u]]} ({sr_ref} Hz) differ in rate")
        try:
            z = world_global_swap(x, y, sr, world_preset)
        except ValueError as e:
            raise DataError(f"{u} -> {refs[u]}: {e}") from e
        path = out / "wav" / f"{u}.wav"
        with atomic_path(path) as tmp:
            sf.write(str(tmp), np.clip(z, -1, 1), sr, subtype="PCM_16", format="WAV")
        done[u] = str(path)
    write_kv(out / "refs", {u: refs[u] for u in utts})
    write_kv(out / "wav.scp", done)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("data_dir")
    ap.add_argument("mel_scp")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    from pystn.io import read_kv
    from pystn.models.stn_convert import sources_and_references

    cfg = json.loads(args.config_json)
    mels, refs, _, _ = sources_and_references(args.mel_scp, args.data_dir, cfg["convert"])
    wavs = read_kv(Path(args.data_dir) / "wav.scp")
    write_global_swaps(sorted(mels), wavs, refs, cfg["world"], Path(args.out_dir), not args.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
