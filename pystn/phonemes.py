"""Text -> phone tokens with espeak-ng, a JSON cache, and the phone inventory.

espeak-ng (``-q --ipa --sep=_``) prints IPA with phones separated by ``_`` and
words by spaces; stress marks (ˈ ˌ) are dropped, length marks (ː) stay on their
vowel, so ``"HELLO WORLD"`` -> ``['h', 'ə', 'l', 'oʊ', 'w', 'ɜː', 'l', 'd']``.
Word boundaries are not tokens: the recogniser scores phone error rate (PER).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

from pystn.io import DataError, write_json

STRESS = "ˈˌ"
BLANK = "<blk>"  # CTC blank, index 0 of every inventory


def espeak_binary() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not on PATH: install it (Debian: apt-get install espeak-ng)")
    return exe


def split_ipa(ipa: str) -> list[str]:
    """Phone tokens of espeak-ng's ``--sep=_`` IPA output (stress removed, empties dropped)."""
    phones = []
    for word in ipa.split():
        for ph in word.split("_"):
            ph = "".join(c for c in ph if c not in STRESS).strip()
            if ph:
                phones.append(ph)
    return phones


def text_to_phones(text: str, voice: str = "en-us") -> list[str]:
    """Phones of one transcript via espeak-ng (no cache). Raises DataError if none come out.

    The text is lower-cased first: upper-case transcripts (LibriSpeech style) make espeak-ng
    spell short words as letters ("IT" -> aɪ t iː) and read others in their stressed form.
    """
    out = subprocess.run([espeak_binary(), "-q", "--ipa", "--sep=_", "-v", voice, text.lower()],
                         capture_output=True, text=True, check=True).stdout
    phones = split_ipa(out)
    if not phones and text.strip():
        raise DataError(f"espeak-ng ({voice}) produced no phones for text '{text}'")
    return phones


class PhoneCache:
    """Text -> phones memo, persisted as JSON (``{voice: {text: "p1 p2 ..."}}``)."""

    def __init__(self, path: str | Path | None = None, voice: str = "en-us"):
        self.path = Path(path) if path else None
        self.voice = voice
        self.table: dict[str, str] = {}
        if self.path and self.path.is_file():
            self.table = json.loads(self.path.read_text(encoding="utf-8")).get(voice, {})
        self.dirty = False

    def phones(self, text: str) -> list[str]:
        if text not in self.table:
            self.table[text] = " ".join(text_to_phones(text, self.voice))
            self.dirty = True
        return self.table[text].split()

    def save(self) -> None:
        if self.path and self.dirty:
            write_json(self.path, {self.voice: self.table})
            self.dirty = False


_DEFAULT_CACHE: PhoneCache | None = None


def phones_of_text(text: str, voice: str = "en-us") -> list[str]:
    """Phones of ``text`` memoised in-process (the call the scorers use)."""
    global _DEFAULT_CACHE
    if _DEFAULT_CACHE is None or _DEFAULT_CACHE.voice != voice:
        _DEFAULT_CACHE = PhoneCache(None, voice)
    return _DEFAULT_CACHE.phones(text)


def phones_of_utts(text: Mapping[str, str], cache: PhoneCache) -> dict[str, list[str]]:
    """utt -> phones for a Kaldi ``text`` map (each distinct sentence synthesised once)."""
    out = {utt: cache.phones(t) for utt, t in text.items()}
    cache.save()
    return out


def build_inventory(phone_seqs: Iterable[list[str]]) -> list[str]:
    """Sorted phone set with the CTC blank first: ``[BLANK, p1, p2, ...]``."""
    return [BLANK] + sorted({p for seq in phone_seqs for p in seq})


def encode(phones: list[str], inventory: list[str], where: str = "") -> list[int]:
    """Phone tokens -> inventory indices; an unknown phone is a DataError naming it and ``where``."""
    index = {p: i for i, p in enumerate(inventory)}
    try:
        return [index[p] for p in phones]
    except KeyError as e:
        raise DataError(f"{where}: phone {e.args[0]!r} is not in the recogniser's inventory") from None
