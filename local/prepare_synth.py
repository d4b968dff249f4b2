#!/usr/bin/env python
"""The default corpus: multi-speaker, multi-emotion English speech made locally with espeak-ng.

Speakers differ in espeak-ng variant (formants, voicing), base pitch and
rate, and on request (``intonation``) in an intonation habit: how far their
pitch declines over a sentence and how much they raise its last word, as
word-level SSML pitch offsets. Emotions are prosody styles (pitch level and
range, rate, volume) applied through SSML. Every speaker says every sentence in every
emotion, so utterances are parallel across speakers and emotions (needed for
MCD against a reference). Everything is drawn from ``seed``: the same seed
gives byte-identical audio and data dirs, another seed another corpus of the
same shape (sentence choice and order, speaker parameters).

usage: prepare_synth.py [--seed N] [--n-speakers N] [--n-sentences N] <out-dir>
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.data import DataDir, add_durations, split_speakers, write_splits  # noqa: E402
from pystn.io import DataError, atomic_path, write_json  # noqa: E402

NEEDS_ROOT = False  # the corpus is generated under <out-dir>/wavs

# Harvard sentences (public domain), a phonetically balanced shared script.
SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
]

# espeak-ng variants that keep a voiced, human-like source (no whisper or robot voices).
VARIANTS = [
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "adam", "andy", "annie", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
    "edward", "grandma", "grandpa", "iven", "iven2", "john", "linda", "max", "michel", "norbert",
    "paul", "pedro", "quincy", "rob", "robert", "shelby", "steph", "travis", "victor", "zac",
]
FEMALE_VARIANTS = {"f1", "f2", "f3", "f4", "f5", "annie", "aunty", "belinda", "grandma", "linda",
                   "shelby", "steph"}

# Emotion styles as SSML prosody: relative pitch level, pitch range, rate, volume.
EMOTION_STYLES = {
    "neutral": {"pitch": "+0%", "range": "medium", "rate": 1.00, "volume": "medium"},
    "happy": {"pitch": "+25%", "range": "x-high", "rate": 1.15, "volume": "loud"},
    "sad": {"pitch": "-15%", "range": "x-low", "rate": 0.80, "volume": "soft"},
    "angry": {"pitch": "+10%", "range": "high", "rate": 1.25, "volume": "x-loud"},
    "surprise": {"pitch": "+40%", "range": "x-high", "rate": 1.05, "volume": "loud"},
}


@dataclass(frozen=True)
class Speaker:
    spk_id: str
    variant: str
    gender: str
    pitch: int  # espeak-ng base pitch, 0-99
    rate: int  # words per minute
    declination: int = 0  # % pitch offset of the first word above the last (negative: rising)
    final_rise: int = 0  # % pitch offset added to the last word (uptalk)


def draw_speakers(n: int, rng: random.Random, intonation: dict | None = None,
                  habit_rng: random.Random | None = None) -> list[Speaker]:
    """Draw ``n`` distinct speakers: one variant each (cycled if n > variants), random pitch/rate
    from ``rng``; with ``intonation`` ({'declination': [lo, hi], 'final_rise': [lo, hi]}, integer %)
    also a habit each, drawn from ``habit_rng``, a stream of its own so that the habits leave
    every other draw of a seed's corpus as it is."""
    variants = rng.sample(VARIANTS, len(VARIANTS))
    speakers = []
    for i in range(n):
        variant = variants[i % len(variants)]
        habit = ({"declination": habit_rng.randint(*intonation["declination"]),
                  "final_rise": habit_rng.randint(*intonation["final_rise"])} if intonation else {})
        speakers.append(Speaker(
            spk_id=f"spk{i + 1:03d}", variant=variant,
            gender="f" if variant in FEMALE_VARIANTS else "m",
            pitch=rng.randint(25, 75), rate=rng.randint(135, 185), **habit))
    return speakers


def check_intonation(intonation: dict | None) -> dict | None:
    """``corpora.synth.intonation`` validated: None, or integer % ranges [lo, hi] (lo <= hi) for
    'declination' and 'final_rise'."""
    if intonation is None:
        return None
    key = "corpora.synth.intonation"
    if not isinstance(intonation, dict) or set(intonation) != {"declination", "final_rise"}:
        raise DataError(f"{key}: expected {{declination: [lo, hi], final_rise: [lo, hi]}} (integer %), "
                        f"got {intonation!r}")
    for name, bounds in intonation.items():
        ok = (isinstance(bounds, (list, tuple)) and len(bounds) == 2
              and all(isinstance(b, int) and -90 < b < 200 for b in bounds) and bounds[0] <= bounds[1])
        if not ok:
            raise DataError(f"{key}.{name}: expected [lo, hi], integer % with -90 < lo <= hi < 200, got {bounds!r}")
    return intonation


def word_pitch_offsets(n_words: int, spk: Speaker) -> list[int]:
    """Per-word pitch offsets in % for a sentence of ``n_words``: the speaker's declination spread
    linearly from +declination/2 (first word) to -declination/2 (last), plus its final rise."""
    if n_words == 1:
        return [spk.final_rise]
    half = spk.declination / 2
    offsets = [round(half - spk.declination * i / (n_words - 1)) for i in range(n_words)]
    offsets[-1] += spk.final_rise
    return offsets


def ssml(sentence: str, style: dict, spk: Speaker) -> str:
    """The SSML of ``sentence`` in emotion ``style``; a speaker with an intonation habit has each word
    wrapped in its relative pitch offset (espeak-ng applies SSML prosody word by word)."""
    rate = f"{round(style['rate'] * 100)}%"
    if spk.declination or spk.final_rise:
        words = sentence.split()
        sentence = " ".join(f'<prosody pitch="{o:+d}%">{w}</prosody>'
                            for w, o in zip(words, word_pitch_offsets(len(words), spk)))
    return (f'<speak><prosody pitch="{style["pitch"]}" range="{style["range"]}" rate="{rate}" '
            f'volume="{style["volume"]}">{sentence}</prosody></speak>')


def synthesize(text: str, spk: Speaker, out_wav: Path, sample_rate: int,
               noise_seed: int) -> list[tuple[str, float, float]]:
    """Speak ``text`` (SSML) with ``spk`` into ``out_wav`` (16-bit mono) atomically; return its phone
    segments [(phone, start_s, end_s)] from espeak-ng's phoneme events.

    A -60 dBFS deterministic noise floor is added so that silence is not
    digital zero (features, VAD and F0 trackers then see realistic input).
    """
    import soundfile as sf  # imported by prepare_synth before the workers fork

    from pystn.espeak_synth import EspeakSynth

    try:
        samples, sr, phones = EspeakSynth().speak(text, f"en-us+{spk.variant}", spk.pitch, spk.rate)
    except (RuntimeError, ValueError) as exc:
        raise DataError(f"espeak-ng failed for {out_wav.name}: {exc}") from None
    audio = samples.astype(np.float32) / 32768.0
    if sr != sample_rate:
        import librosa

        audio = librosa.resample(audio, orig_sr=sr, target_sr=sample_rate)
    audio = audio + 1e-3 * np.random.default_rng(noise_seed).standard_normal(len(audio))
    audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    with atomic_path(out_wav) as tmp:
        sf.write(tmp, audio, sample_rate, subtype="PCM_16", format="WAV")
    return phones


def format_alignment(phones: list[tuple[str, float, float]]) -> str:
    """The ``phone_ali`` value of one utterance: ``phone start end`` triples in seconds."""
    return " ".join(f"{p} {a:.4f} {b:.4f}" for p, a, b in phones)


def plan_corpus(seed: int, n_speakers: int, n_sentences: int, emotions: list[str],
                intonation: dict | None = None):
    """Speakers, chosen sentences (seeded order) and the utterance list, all from ``seed``."""
    if n_sentences > len(SENTENCES):
        raise DataError(f"corpora.synth.n_sentences={n_sentences} exceeds the {len(SENTENCES)} sentences available")
    unknown = [e for e in emotions if e not in EMOTION_STYLES]
    if unknown:
        raise DataError(f"corpora.synth.emotions: unknown {unknown}; choose from {list(EMOTION_STYLES)}")
    rng = random.Random(seed)
    speakers = draw_speakers(n_speakers, rng, check_intonation(intonation), random.Random(f"{seed}:intonation"))
    sentences = rng.sample(SENTENCES, n_sentences)
    utts = []
    for spk in speakers:
        for emo in emotions:
            for k, sentence in enumerate(sentences):
                utts.append((f"{spk.spk_id}_{emo}_{k:03d}", spk, emo, sentence))
    return speakers, sentences, utts


def normalise_text(sentence: str) -> str:
    """Upper-case words without punctuation (apostrophes kept), as in LibriSpeech transcripts."""
    words = "".join(c if c.isalnum() or c in " '" else " " for c in sentence).split()
    return " ".join(words).upper()


def prepare_synth(root, out_dir, *, seed: int = 1234, n_speakers: int = 30, n_sentences: int = 12,
                  emotions=("neutral", "happy", "sad", "angry"), sample_rate: int = 22050,
                  split=None, nj: int = 1, intonation: dict | None = None, **_ignored) -> None:
    """Generate the corpus under ``<out_dir>/wavs`` and write ``<out_dir>/{train,val,test}``.

    ``root`` is unused (the corpus is generated). ``split`` maps split name to
    a speaker count; test speakers are never seen in training. ``intonation``
    (off by default): per-speaker habit ranges, see :func:`draw_speakers`.
    """
    out_dir = Path(out_dir)
    wav_root = out_dir / "wavs"
    speakers, sentences, utts = plan_corpus(seed, n_speakers, n_sentences, list(emotions), intonation)
    jobs = [(ssml(sent, EMOTION_STYLES[emo], spk), spk, wav_root / spk.spk_id / f"{utt}.wav", sample_rate,
             seed * 100003 + i) for i, (utt, spk, emo, sent) in enumerate(utts)]
    # one fresh process per utterance: the espeak-ng library keeps state between utterances (timing
    # drifts by a sample), and a fresh one reproduces the command line's audio exactly. The library
    # is initialised here, once, and every worker is forked from that unused state.
    import soundfile  # noqa: F401  (imported once here, not in every forked worker)

    from pystn.espeak_synth import EspeakSynth, map_forked

    EspeakSynth()
    alignments = map_forked(synthesize, jobs, nj)
    data = DataDir(
        wavs={utt: str(wav_root / spk.spk_id / f"{utt}.wav") for utt, spk, _, _ in utts},
        utt2spk={utt: spk.spk_id for utt, spk, _, _ in utts},
        maps={"text": {utt: normalise_text(s) for utt, _, _, s in utts},
              "utt2emo": {utt: emo for utt, _, emo, _ in utts},
              "phone_ali": {utt: format_alignment(ali) for (utt, *_), ali in zip(utts, alignments)},
              "utt2gender": {utt: spk.gender for utt, spk, _, _ in utts}},
    )
    add_durations(data)
    split = split or {"train": 0.7, "val": 0.1, "test": 0.2}
    write_splits(data, split_speakers(data.utt2spk.values(), split, seed), out_dir)
    write_json(out_dir / "speakers.json", {"speakers": [asdict(s) for s in speakers], "sentences": sentences,
                                           "emotions": {e: EMOTION_STYLES[e] for e in emotions}})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-speakers", type=int, default=30)
    ap.add_argument("--n-sentences", type=int, default=12)
    ap.add_argument("--nj", type=int, default=2)
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    prepare_synth(None, args.out_dir, seed=args.seed, n_speakers=args.n_speakers,
                  n_sentences=args.n_sentences, nj=args.nj)
    return 0


if __name__ == "__main__":
    sys.exit(main())
