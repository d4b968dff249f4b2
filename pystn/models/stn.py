"""SpeechTripleNet (paper §3-4.2) and the β-VAEVC baseline (same code, no prosody latent).

Shapes: B batch, T frames, M mel bins (80). Every sequence is [B, T, D].

* Content encoder: FC -> d_model, two conv(k=3)+BatchNorm, two self-attention +
  feed-forward layers, FC -> (μ_c, log σ_c) of ``d_content`` (128) per frame.
* Speaker encoder: four conv layers (k = 3, 3, 5, 5), each followed by 2x temporal
  average pooling (16x total), global average pooling, FC -> (μ_s, log σ_s) of ``d_speaker`` (128).
* Prosody encoder: the content encoder's structure with 64 = 8x8 logits per frame
  (joint pitch x energy class ``f * 8 + e``). Training: Gumbel-softmax sample;
  inference: argmax of each marginal. The pitch and energy marginal codes are
  embedded to 8 dims each (a bias-free linear map of the code).
* Decoder: the content encoder's structure, input d_content + d_speaker + 16 = 272, output M.

Recipe additions, off in the paper configs (``configs/vctk.yaml``), on in the CPU default:

* ``harmonic`` (:mod:`pystn.models.harmonic`): the decoded mel gains the harmonics of an
  F0 contour rendered from the pitch code and a pitch register predicted from Z_s. A
  CPU-sized decoder trained for minutes regresses only a smooth envelope; Griffin-Lim
  of it is whispered, and the pitch the prosody latent carries would be lost in the audio.
  The rendered F0 also excites the WORLD vocoder (``vocoder.kind: world``).
* ``prosody_contours``: the prosody encoder also reads the contours that Eq. 2 quantises, before
  quantisation (:func:`pystn.prosody.prosody_contours`: voiced log-F0 and energy, each min-max
  scaled over the utterance, and the voicing flag). Relative, as the targets are, so they add no
  register or loudness. An 80-band mel shows an unseen voice's pitch poorly: from the mel alone
  a CPU-trained encoder puts two thirds of the frames in the right pitch bin.
* :meth:`SpeechTripleNet.set_mel_stats`: encoders read, and the decoder writes, per-bin
  standardised log-mel (a reparametrisation; the NLL stays on the log-mel).
* ``content_norm='instance'``: the content encoder's convolutions are followed by
  affine-free InstanceNorm (AdaIN-VC's content encoder) instead of BatchNorm, so a
  voice's constant spectral colouring cannot pass through Z_c. With the training
  batches' ``content_warp`` (:func:`pystn.models.stn_train.make_batch_fn`, the content
  encoder reads ``forward(content_mel=...)``), the decoder must take the voice from Z_s.
* ``speaker_spectrum``: the decoder's standardised output gains s̄, the mean over time of the
  standardised mel that the speaker encoder reads (:meth:`SpeechTripleNet.spectrum_of`), so the
  decoded log-mel is the speaker input's mean log-mel plus std x the decoder's output; a swap
  (``decode_all(spectrum=...)``) takes X''s. Instance-normalised, Z_c cannot hold that mean, and
  a map from Z_s learnt on 20 training voices renders an unseen voice's mean spectrum poorly
  (the AdaIN-VC decoder's speaker mean, without a learnt map). With ``spectrum_lifter`` K, s̄ is
  the mean log-mel's envelope, its first K DCT coefficients along the mel axis
  (:func:`cepstral_lifter`): a narrow-range voice's mean log-mel also holds the harmonic comb of its
  average F0, which, added to every frame, fights the comb the harmonic source renders at each
  frame's own F0 and fills the pauses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pystn.models import harmonic as H
from pystn.prosody import N_BINS, N_CONTOURS, expected_voiced_bin, marginals


def conv_norm(kind: str, channels: int) -> nn.Module:
    """'batch': BatchNorm1d (paper); 'instance': affine-free InstanceNorm1d, which removes each
    utterance's per-channel mean and scale (the global, speaker-like statistics; AdaIN-VC)."""
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "instance":
        return nn.InstanceNorm1d(channels, affine=False)
    raise ValueError(f"model.content_norm must be 'batch' or 'instance', got {kind!r}")


def cepstral_lifter(n_mels: int, n_keep: int) -> torch.Tensor:
    """The low-quefrency lifter as a projection [M, M] of log-mel frames (row vectors): DCT-II
    (orthonormal) along the mel axis, keep the first ``n_keep`` coefficients, invert. A frame
    ``x @ P`` keeps the spectral envelope (the MFCC part) and loses the harmonic ripple of F0."""
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_keep, dtype=torch.float64)[:, None]
    basis = torch.cos(torch.pi * (n + 0.5) * k / n_mels) * (2.0 / n_mels) ** 0.5
    basis[0] /= 2.0 ** 0.5
    return (basis.T @ basis).float()


class ConvAttnStack(nn.Module):
    """FC -> n_conv x (conv k, BatchNorm, ReLU) -> n_attn x Transformer layer -> FC.  [B,T,d_in] -> [B,T,d_out]."""

    def __init__(self, d_in: int, d_out: int, d_model: int = 256, n_heads: int = 2, n_conv: int = 2,
                 n_attn: int = 2, kernel: int = 3, d_ff: int | None = None, dropout: float = 0.1,
                 norm: str = "batch"):
        super().__init__()
        self.inp = nn.Linear(d_in, d_model)
        self.convs = nn.ModuleList(nn.Sequential(
            nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2), conv_norm(norm, d_model), nn.ReLU(),
            nn.Dropout(dropout)) for _ in range(n_conv))
        self.attn = nn.ModuleList(nn.TransformerEncoderLayer(
            d_model, n_heads, d_ff or 4 * d_model, dropout, batch_first=True) for _ in range(n_attn))
        self.out = nn.Linear(d_model, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x).transpose(1, 2)  # [B, d, T]
        for conv in self.convs:
            h = conv(h)
        h = h.transpose(1, 2)
        for layer in self.attn:
            h = layer(h)
        return self.out(h)


class SpeakerEncoder(nn.Module):
    """Mel [B, T, M] (T >= 16) -> (μ_s, log σ_s), each [B, d_speaker]."""

    def __init__(self, n_mels: int, d_speaker: int, channels: int = 256, kernels=(3, 3, 5, 5)):
        super().__init__()
        layers, c_in = [], n_mels
        for k in kernels:
            layers += [nn.Conv1d(c_in, channels, k, padding=k // 2), nn.BatchNorm1d(channels), nn.ReLU(),
                       nn.AvgPool1d(2, ceil_mode=True)]
            c_in = channels
        self.convs = nn.Sequential(*layers)
        self.out = nn.Linear(channels, 2 * d_speaker)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(mel.transpose(1, 2)).mean(-1)
        mu, log_sigma = self.out(h).chunk(2, dim=-1)
        return mu, log_sigma


def reparameterize(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """z = μ + σ ε, ε ~ N(0, I)."""
    return mu + torch.exp(log_sigma) * torch.randn_like(mu)


class SpeechTripleNet(nn.Module):
    """The triple-factor VAE; ``prosody=False`` gives β-VAEVC (content + speaker only)."""

    def __init__(self, n_mels: int = 80, d_model: int = 256, d_content: int = 128, d_speaker: int = 128,
                 n_bins: int = N_BINS, d_prosody_emb: int = 8, n_heads: int = 2, n_attn: int = 2,
                 spk_channels: int = 256, dropout: float = 0.1, tau: float = 1.0, prosody: bool = True,
                 harmonic: dict | None = None, content_norm: str = "batch",
                 prosody_contours: bool = False, speaker_spectrum: bool = False, spectrum_lifter: int = 0):
        super().__init__()
        self.speaker_spectrum = speaker_spectrum
        if spectrum_lifter and not (speaker_spectrum and 0 < spectrum_lifter <= n_mels):
            raise ValueError("model.spectrum_lifter must be 0 (off) or, with model.speaker_spectrum, a number "
                             f"of cepstral coefficients 1..n_mels ({n_mels}); got {spectrum_lifter}")
        if spectrum_lifter:
            self.register_buffer("spectrum_projection", cepstral_lifter(n_mels, spectrum_lifter), persistent=False)
        self.spectrum_lifter = spectrum_lifter
        self.n_bins, self.tau, self.has_prosody = n_bins, tau, prosody
        self.reads_contours = prosody and prosody_contours
        self.n_mels = n_mels
        # per-bin log-mel statistics of the training data (identity until set_mel_stats)
        self.register_buffer("mel_mean", torch.zeros(n_mels))
        self.register_buffer("mel_std", torch.ones(n_mels))
        stack = dict(d_model=d_model, n_heads=n_heads, n_attn=n_attn, dropout=dropout)
        self.content = ConvAttnStack(n_mels, 2 * d_content, norm=content_norm, **stack)
        self.speaker = SpeakerEncoder(n_mels, d_speaker, spk_channels)
        d_dec = d_content + d_speaker
        if prosody:
            self.prosody = ConvAttnStack(n_mels + N_CONTOURS * self.reads_contours, n_bins * n_bins, **stack)
            self.emb_f = nn.Linear(n_bins, d_prosody_emb, bias=False)
            self.emb_e = nn.Linear(n_bins, d_prosody_emb, bias=False)
            d_dec += 2 * d_prosody_emb
        self.decoder = ConvAttnStack(d_dec, n_mels, **stack)
        if harmonic and not isinstance(harmonic, dict):
            raise ValueError("model.harmonic must be the stn_mel preset's settings {sample_rate, n_fft, fmin, "
                             "fmax}; a config's 'harmonic: true' is filled in by stn_variants.variant_config")
        self.harmonic = dict(harmonic) if harmonic else None
        if self.harmonic:
            self._build_harmonic_source(d_speaker)

    def _build_harmonic_source(self, d_speaker: int) -> None:
        """The harmonic source (:mod:`pystn.models.harmonic`); ``harmonic`` = the stn_mel preset's
        sample_rate, n_fft, fmin, fmax, plus optional sigma_hz (13) and smooth (5 frames)."""
        if not self.has_prosody:
            raise ValueError("model.harmonic needs the prosody latent (its pitch code is the source's F0)")
        h = self.harmonic
        basis, freqs = H.mel_filterbank(int(h["sample_rate"]), int(h["n_fft"]), self.n_mels,
                                        float(h.get("fmin", 0.0)), h.get("fmax"))
        self.harmonic_contrast = H.ContrastTable(basis, freqs, float(h.get("sigma_hz", 13.0)))
        self.f0_range = H.F0Range(d_speaker)

    def set_mel_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-bin log-mel mean and std [M] of the training data: the encoders then read
        (mel - mean) / std and the decoder writes mean + std * output (a reparametrisation:
        the NLL of Eq. 4 stays on the log-mel itself). Stored with the weights."""
        self.mel_mean.copy_(mean)
        self.mel_std.copy_(std)

    def _standardise(self, mel: torch.Tensor) -> torch.Tensor:
        return (mel - self.mel_mean) / self.mel_std

    def encode_content(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mel [B, T, M] -> (μ_c, log σ_c), each [B, T, d_content]."""
        return self.content(self._standardise(mel)).chunk(2, dim=-1)

    def encode_speaker(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mel [B, T, M] -> (μ_s, log σ_s), each [B, d_speaker]."""
        return self.speaker(self._standardise(mel))

    def spectrum_of(self, mel: torch.Tensor) -> torch.Tensor | None:
        """The speaker spectrum s̄ [B, M] of a ``speaker_spectrum`` model: the mean over time of the
        standardised mel [B, T, M] of the speaker encoder's input (with ``spectrum_lifter``, of
        its envelope: the mean log-mel liftered, then standardised); None for other models."""
        if not self.speaker_spectrum:
            return None
        mean_log_mel = mel.mean(1)
        if self.spectrum_lifter:
            mean_log_mel = mean_log_mel @ self.spectrum_projection
        return self._standardise(mean_log_mel)

    def prosody_logits(self, mel: torch.Tensor, contours: torch.Tensor | None = None) -> torch.Tensor:
        """Mel [B, T, M] (with ``prosody_contours``, also the utterance's relative pitch, voicing and
        energy contours [B, T, 3] of :func:`pystn.prosody.prosody_contours`) -> joint pitch x energy
        logits π [B, T, n_bins**2]."""
        x = self._standardise(mel)
        if self.reads_contours:
            if contours is None or contours.shape[:2] != mel.shape[:2]:
                raise ValueError("this model's prosody encoder reads the pitch and energy contours "
                                 f"(model.prosody_contours) [B, T, 3] of mel {tuple(mel.shape)}; got "
                                 f"{None if contours is None else tuple(contours.shape)}")
            x = torch.cat([x, contours], dim=-1)
        return self.prosody(x)

    def prosody_codes(self, logits: torch.Tensor, sample: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Marginal pitch and energy codes [B, T, n_bins] each.

        ``sample``: straight-through Gumbel-softmax sample of the joint (one-hot forward,
        soft gradient of temperature τ), then marginals;
        else the one-hot argmax of each marginal of softmax(π) (paper §4.4 editing).
        """
        if sample:  # discrete (straight-through) codes: the decoder sees one-hot codes as at inference
            return marginals(F.gumbel_softmax(logits, tau=self.tau, hard=True), self.n_bins)
        return argmax_codes(*marginals(logits.softmax(-1), self.n_bins))

    def decode_all(self, z_c: torch.Tensor, z_s: torch.Tensor, code_f: torch.Tensor | None = None,
                   code_e: torch.Tensor | None = None, f0_range: torch.Tensor | None = None,
                   pitch_position: torch.Tensor | None = None, spectrum: torch.Tensor | None = None) -> dict:
        """(Z_c [B,T,Dc], Z_s [B,Ds], codes [B,T,n_bins]) -> {'mel' [B,T,M]}; Z_s is repeated over T.

        With the harmonic source the mel gains the harmonics of 'source_log_f0' [B,T] (0 unvoiced),
        rendered from the pitch code in the register ``f0_range`` [B,2] when given (training:
        the utterance's analysed range), else in the one predicted from Z_s. ``pitch_position``
        [B,T] (float bins, 0 unvoiced; editing: the code's bins plus :meth:`analyse`'s
        'pitch_detail') replaces the code's bins in that rendering only. ``spectrum`` [B,M]: the
        speaker spectrum s̄ (:meth:`spectrum_of`) that a ``speaker_spectrum`` model adds to its
        standardised output (required there, unused otherwise)."""
        parts = [z_c, z_s[:, None, :].expand(-1, z_c.shape[1], -1)]
        if self.has_prosody:
            parts += [self.emb_f(code_f), self.emb_e(code_e)]
        standardised = self.decoder(torch.cat(parts, dim=-1))
        if self.speaker_spectrum:
            if spectrum is None:
                raise ValueError("a model.speaker_spectrum model decodes with the speaker spectrum [B, M] "
                                 "(spectrum_of the speaker encoder's input)")
            standardised = standardised + spectrum[:, None, :]
        out = {"mel": self.mel_mean + self.mel_std * standardised}
        if self.harmonic:
            register = self.f0_range(z_s) if f0_range is None else f0_range
            position = code_f.argmax(-1) if pitch_position is None else pitch_position
            out["source_log_f0"] = H.render_log_f0(position, register, self.n_bins,
                                                   int(self.harmonic.get("smooth", 5)))
            out["mel"] = out["mel"] + self.harmonic_contrast(out["source_log_f0"])
        return out

    def decode(self, z_c: torch.Tensor, z_s: torch.Tensor, code_f: torch.Tensor | None = None,
               code_e: torch.Tensor | None = None, spectrum: torch.Tensor | None = None) -> torch.Tensor:
        """The decoded mel [B, T, M] of :meth:`decode_all`."""
        return self.decode_all(z_c, z_s, code_f, code_e, spectrum=spectrum)["mel"]

    def forward(self, mel: torch.Tensor, spk_mel: torch.Tensor | None = None,
                f0_range: torch.Tensor | None = None, content_mel: torch.Tensor | None = None,
                prosody_mel: torch.Tensor | None = None, contours: torch.Tensor | None = None) -> dict:
        """Training pass: mel [B, T, M], speaker-encoder input spk_mel [B, T', M] (default: mel),
        the harmonic source's register: the utterances' voiced log-F0 (min, max) [B, 2] (teacher
        forcing; default: predicted from Z_s), the content encoder's input content_mel [B, T, M]
        (default: mel), the prosody encoder's input prosody_mel [B, T, M] (default: mel; the
        reconstruction target stays mel), its ``contours`` [B, T, 3] (``prosody_contours`` models).

        Returns a dict with ``mel_hat``, ``mu_c``, ``logsig_c``, ``mu_s``, ``logsig_s``,
        with prosody ``logits`` [B, T, n_bins**2], with the harmonic source ``f0_range_hat`` [B, 2]
        (the register predicted from μ_s, trained against ``f0_range``).
        """
        mu_c, ls_c = self.encode_content(mel if content_mel is None else content_mel)
        spk_mel = mel if spk_mel is None else spk_mel
        mu_s, ls_s = self.encode_speaker(spk_mel)
        out = {"mu_c": mu_c, "logsig_c": ls_c, "mu_s": mu_s, "logsig_s": ls_s}
        codes = (None, None)
        if self.has_prosody:
            out["logits"] = self.prosody_logits(mel if prosody_mel is None else prosody_mel, contours)
            codes = self.prosody_codes(out["logits"], sample=self.training)
        z_c, z_s = (reparameterize(mu_c, ls_c), reparameterize(mu_s, ls_s)) if self.training else (mu_c, mu_s)
        if self.harmonic:  # the register is read from the posterior mean, as at inference
            out["f0_range_hat"] = self.f0_range(mu_s)
            f0_range = out["f0_range_hat"] if f0_range is None else f0_range
        out["mel_hat"] = self.decode_all(z_c, z_s, *codes, f0_range=f0_range,
                                         spectrum=self.spectrum_of(spk_mel))["mel"]
        return out

    @torch.no_grad()
    def analyse(self, mel: torch.Tensor, contours: torch.Tensor | None = None) -> dict:
        """Posterior means and prosody of mel [1, T, M] (and its contours [1, T, 3] for a
        ``prosody_contours`` model) (eval): z_c [1,T,Dc], z_s [1,Ds],
        code_f / code_e one-hot [1,T,n_bins], bins_f / bins_e [T] ints, logits [1,T,n_bins**2],
        pitch_detail [T]: on voiced frames the expected voiced pitch bin minus bins_f, kept inside
        bins_f's cell (+-1/2; :func:`pystn.prosody.expected_voiced_bin`), 0 elsewhere: the sub-bin
        contour the argmax drops."""
        mu_c, _ = self.encode_content(mel)
        mu_s, _ = self.encode_speaker(mel)
        out = {"z_c": mu_c, "z_s": mu_s, "spectrum": self.spectrum_of(mel)}
        if self.has_prosody:
            logits = self.prosody_logits(mel, contours)
            pitch_marginal, energy_marginal = marginals(logits.softmax(-1), self.n_bins)  # [1, T, n_bins]
            code_f, code_e = argmax_codes(pitch_marginal, energy_marginal)
            bins_f = code_f[0].argmax(-1)
            detail = (expected_voiced_bin(pitch_marginal[0]) - bins_f).clamp(-0.5, 0.5)
            out.update(logits=logits, code_f=code_f, code_e=code_e, bins_f=bins_f,
                       bins_e=code_e[0].argmax(-1), pitch_detail=torch.where(bins_f > 0, detail, 0.0))
        return out


def argmax_codes(pitch_marginal: torch.Tensor, energy_marginal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot argmax codes [..., n_bins] of the pitch and energy marginals [..., n_bins] (§4.4)."""
    n_bins = pitch_marginal.shape[-1]
    return tuple(F.one_hot(m.argmax(-1), n_bins).float() for m in (pitch_marginal, energy_marginal))


def build_stn(cfg: dict) -> SpeechTripleNet:
    """Build from a config dict (the ``model:`` block; unknown keys are an error)."""
    return SpeechTripleNet(**cfg)
