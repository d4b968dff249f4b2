#!/usr/bin/env python
"""Stage 07: score SpeechTripleNet conversions (Table 1 / 2 measures, emphasis check).

usage: score_stn.py --config-json JSON [--threads N] [--global-swap DIR] <convert-dir> <data-dir> <out-dir>

<convert-dir> is results/06_convert/stn/<variant> (conversions.json + one folder per
condition); <data-dir> the test Kaldi data dir. JSON: {'f0_preset', 'energy_preset',
'recognizer_dir' (or null), 'xvector_dir' (or null), 'xvector_backend' (or null), 'resemblyzer': bool,
'pocketsphinx_per_speaker': int (0 = off), 'seed',
'spectrum_preset': the stn_mel preset (average-spectrum distances; optional)}.
Writes <out-dir>/utts.csv (one row per condition x utterance) and <out-dir>/metrics.json
({condition: summary}); the condition 'source' scores the test audio itself (its PER / WER are
the floor for the others). With --global-swap (results/06_convert/stn/global_swap, written by
global_swap_stn.py), the condition 'global_swap' scores the signal-processing speaker swap of
every source toward its X': how far global voice statistics alone move the embeddings.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_tools(cfg: dict, utts: list[str], utt2spk: dict) -> dict:
    """The scorers named in ``cfg`` (each memoised over audio paths)."""
    from pystn.models.stn_convert import choose_utts
    from pystn.stn_score import PocketsphinxASR, average_spectrum, cached, prosody_tracks

    tools = {"prosody": cached(lambda p: prosody_tracks(p, cfg["f0_preset"], cfg["energy_preset"]))}
    if cfg.get("spectrum_preset"):
        tools["spectrum"] = cached(lambda p: average_spectrum(p, cfg["spectrum_preset"]))
    if cfg.get("recognizer_dir"):
        from pystn.recognizer import PhoneRecognizer, phones_of_text

        rec = PhoneRecognizer.load(cfg["recognizer_dir"])
        tools["recognizer"] = (rec.recognize_wav, phones_of_text)
    if cfg.get("resemblyzer", True):
        from pystn.embedders import ResemblyzerEmbedder

        tools["resemblyzer"] = cached(ResemblyzerEmbedder().embed_wav)
    if cfg.get("xvector_dir"):
        from pystn.embedders import XvectorEmbedder

        tools["xvector"] = cached(XvectorEmbedder(cfg["xvector_dir"], backend=cfg.get("xvector_backend")).embed_wav)
    n_ps = int(cfg.get("pocketsphinx_per_speaker", 0))
    if n_ps:
        tools["asr"] = PocketsphinxASR().words
        tools["asr_utts"] = set(choose_utts({u: utt2spk[u] for u in utts}, n_ps, int(cfg["seed"])))
    return tools


def check_same_references(swap_refs_path: Path, refs: dict, utts: list[str]) -> None:
    """The global swaps must pair every converted source with the X' its X_s was given; a
    DataError names the first utterance where they differ (or are missing)."""
    from pystn.io import DataError, read_kv

    swap_refs = read_kv(swap_refs_path)
    for u in utts:
        if swap_refs.get(u) != refs[u]:
            raise DataError(f"{swap_refs_path}: utterance '{u}' has reference {swap_refs.get(u)!r}, but the "
                            f"conversion's X' is '{refs[u]}': rerun the global swap with the conversion's "
                            "convert settings (per_speaker, seed, reference)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--global-swap", help="Table 1's WORLD global-statistics swaps of the same sources "
                                          "toward the same references (global_swap_stn.py)")
    ap.add_argument("convert_dir")
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    import pandas as pd
    import torch

    from pystn.io import atomic_path, read_json, read_kv, write_json
    from pystn.stn_score import closer_to_reference, score_condition, summarise

    torch.set_num_threads(args.threads)
    cfg = json.loads(args.config_json)
    conv = Path(args.convert_dir)
    manifest = read_json(conv / "conversions.json")
    data = Path(args.data_dir)
    wavs, texts, utt2spk = read_kv(data / "wav.scp"), read_kv(data / "text"), read_kv(data / "utt2spk")
    utts = manifest["utterances"]
    tools = build_tools(cfg, utts, utt2spk)
    refs = read_kv(conv / "speaker" / "refs")
    source = {u: wavs[u] for u in utts}
    rows = []
    for cond in ["source"] + list(manifest["conditions"]):
        cdir = conv / cond
        if cond == "source":  # the test audio itself, scored like an output
            from pystn.stn_score import score_utterance

            rows += [{"condition": "source", **score_utterance(u, source[u], source[u], wavs[refs[u]], tools,
                                                               texts[u])} for u in utts]
            continue
        rows += score_condition(cdir, wavs, texts, refs, tools, progress=not args.no_progress)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if args.global_swap:
        check_same_references(Path(args.global_swap) / "refs", refs, utts)
        rows += score_condition(Path(args.global_swap), wavs, texts, refs, tools, progress=not args.no_progress)
    with atomic_path(out / "utts.csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    summary = {}
    for cond in dict.fromkeys(r["condition"] for r in rows):
        sub = [r for r in rows if r["condition"] == cond]
        summary[cond] = summarise(sub)
        for name in ("resemblyzer", "xvector", "spectrum"):
            if name in tools:
                summary[cond][f"closer_to_xref_{name}"] = closer_to_reference(sub, name)
    summary["rtf_convert"] = manifest.get("rtf")
    write_json(out / "metrics.json", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
