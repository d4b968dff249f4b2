"""espeak-ng synthesis through its C library, with the phone alignment it knows.

The command line (``espeak-ng --stdout``) gives audio only. The library also
reports a phoneme event at the sample where each phone starts; asked for IPA
names (``espeakINITIALIZE_PHONEME_IPA``) these are exactly the phones that
:func:`pystn.phonemes.text_to_phones` gives for the lower-cased text, so the
synthetic corpus carries a true frame alignment (what the BNF paper gets from
Kaldi's aligner). The audio is sample-identical to the command line's.

    synth = EspeakSynth()
    audio, sr, phones = synth.speak(ssml, voice="en-us+f3", pitch=60, rate=160)
    # phones: [(phone, start_s, end_s), ...]; gaps between them are silence

The library is a process-wide singleton with global state: one instance per
process, calls serialised by a lock. That state carries over between
utterances (later ones drift by a sample), so the first utterance of a fresh
process equals the command line's audio and later ones do not: speak each
utterance in a fresh process where byte-identical output matters
(:func:`map_forked`, as ``local/prepare_synth.py`` does).

Some voice variants (``+f3`` …) mix in breath noise from the C library's ``rand()``,
whose state a process shares with every other library in it; :meth:`EspeakSynth.speak`
reseeds it as a fresh command-line process starts (``srand(1)``), so the audio does not
depend on what ran before it in the same process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import threading

import numpy as np

from pystn.phonemes import STRESS

# espeak_ng/speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS, INIT_PHONEME_IPA, INIT_DONT_EXIT = 0x0001, 0x0002, 0x8000
EVENT_LIST_TERMINATED, EVENT_PHONEME = 0, 7
PARAM_RATE, PARAM_PITCH = 1, 3
POS_CHARACTER = 1
CHARS_UTF8, SSML = 1, 0x10


class _Event(ctypes.Structure):
    """``espeak_EVENT`` (the ``id`` union read as its 8-byte phoneme-name member)."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("name", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def load_library() -> ctypes.CDLL:
    """The espeak-ng shared library, or a RuntimeError that says how to install it."""
    for name in (ctypes.util.find_library("espeak-ng"), "libespeak-ng.so.1"):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                continue
    raise RuntimeError("the espeak-ng library (libespeak-ng.so.1) is not installed: "
                       "apt-get install espeak-ng (it brings libespeak-ng1)")


class EspeakSynth:
    """Speak SSML with an espeak-ng voice; return audio and the phone segments."""

    _instance: "EspeakSynth | None" = None
    _lock = threading.Lock()

    def __new__(cls):
        if cls._instance is None:
            inst = super().__new__(cls)
            inst._init_library()
            cls._instance = inst
        return cls._instance

    def _init_library(self) -> None:
        self.lib = load_library()
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.sample_rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                                      INIT_PHONEME_EVENTS | INIT_PHONEME_IPA | INIT_DONT_EXIT)
        if self.sample_rate <= 0:
            raise RuntimeError("espeak_Initialize failed (is espeak-ng-data installed?)")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n_samples, events) -> int:
        if n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (n_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                self._events.append((events[i].name.decode("utf-8", errors="replace"), events[i].sample))
            i += 1
        return 0

    def speak(self, text: str, voice: str, pitch: int = 50, rate: int = 175,
              ssml: bool = True) -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
        """Synthesise ``text`` -> (int16 samples [N], sample rate, [(phone, start_s, end_s), ...]).

        ``voice`` as on the command line (``en-us+f3``); ``pitch`` 0-99 and ``rate`` (words per
        minute) as ``-p`` / ``-s``. Stress marks are dropped from the phone names.
        """
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice '{voice}'")
            self.lib.espeak_SetParameter(PARAM_RATE, int(rate), 0)
            self.lib.espeak_SetParameter(PARAM_PITCH, int(pitch), 0)
            self._chunks, self._events = [], []
            self.libc.srand(1)  # glibc's initial state: the noise a fresh espeak-ng process makes
            raw = text.encode("utf-8")
            flags = CHARS_UTF8 | (SSML if ssml else 0)
            err = self.lib.espeak_Synth(raw, len(raw) + 1, 0, POS_CHARACTER, 0, flags, None, None)
            self.lib.espeak_Synchronize()
            if err != 0:
                raise RuntimeError(f"espeak_Synth failed (error {err}) for text {text[:60]!r}")
            audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            return audio, self.sample_rate, phone_segments(self._events, len(audio), self.sample_rate)


def phone_segments(events: list[tuple[str, int]], n_samples: int, sample_rate: int) -> list[tuple[str, float, float]]:
    """Phoneme events (name, start sample) -> [(phone, start_s, end_s)]: a phone lasts until the next
    event; events with an empty name mark pauses and ends. Stress marks are removed."""
    segments = []
    bounds = [s for _, s in events[1:]] + [n_samples]
    for (name, start), end in zip(events, bounds):
        phone = "".join(c for c in name if c not in STRESS).strip()
        if phone and end > start:
            segments.append((phone, start / sample_rate, end / sample_rate))
    return segments


def map_forked(fn, jobs: list[tuple], workers: int = 1) -> list:
    """``[fn(*job) for job in jobs]``, each call in its own forked child, ``workers`` at a time.

    Each child starts from the parent's state (fork, no re-import), so a library the parent
    initialised but never used is fresh in every call. A child's exception is re-raised here.
    Results travel back pickled through a pipe; order follows ``jobs``.
    """
    results: list = [None] * len(jobs)
    running: list[tuple[int, int, int]] = []  # (job index, pid, read end of its pipe)

    def collect_oldest() -> None:
        i, pid, fd = running.pop(0)
        with os.fdopen(fd, "rb") as f:
            data = f.read()  # to EOF: the child has finished writing
        _, status = os.waitpid(pid, 0)
        if not data:
            raise RuntimeError(f"job {i} ({jobs[i]!r:.80}) died without a result (wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        results[i] = value

    try:
        for i, job in enumerate(jobs):
            while len(running) >= max(1, workers):
                collect_oldest()
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: run, send, and always leave here (never return into the caller's stack)
                try:
                    os.close(r)
                    try:
                        payload = pickle.dumps((True, fn(*job)))
                    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which re-raises it
                        payload = pickle.dumps((False, exc))
                    with os.fdopen(w, "wb") as f:
                        f.write(payload)
                finally:
                    os._exit(0)
            os.close(w)
            running.append((i, pid, r))
        while running:
            collect_oldest()
    finally:  # after an error: let the children still running finish (drain their pipes), no zombies
        for _, pid, fd in running:
            with os.fdopen(fd, "rb") as f:
                f.read()
            os.waitpid(pid, 0)
    return results
