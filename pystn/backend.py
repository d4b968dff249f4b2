"""Speaker back end: mean subtraction, LDA, length norm, two-covariance PLDA, cosine; GMM-UBM / i-vector.

Paper Sec. 4.2: embeddings (or i-vectors) -> LDA (150 dims) -> length
normalisation -> Gaussian PLDA scored with the batch log-likelihood ratio

    llr(u, v) = ln p(u, v | H1) - ln p(u | H0) - ln p(v | H0)        (Eq. 1)

The PLDA is the two-covariance model x = m + y + e, y ~ N(0, Sb) per speaker,
e ~ N(0, Sw) per session, trained by EM. Scoring diagonalises both covariances
(Sw -> I, Sb -> diag(psi)); with a = psi + 1, b = psi per dimension,

    llr = sum_d [ -1/2 ln(a^2 - b^2) + ln a - 1/2 (u^2 + v^2)(a/(a^2-b^2) - 1/a) + u v b/(a^2-b^2) ]

which is evaluated for any trial list by gathering rows: O(n_trials * dim).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg


def length_norm(x: np.ndarray) -> np.ndarray:
    """Scale rows of [N, D] to norm sqrt(D) (Garcia-Romero & Espy-Wilson)."""
    x = np.asarray(x, dtype=np.float64)
    return x * (np.sqrt(x.shape[1]) / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def class_scatter(x: np.ndarray, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(overall mean [D], within-class covariance [D,D], between-class covariance [D,D]) of rows x."""
    labels = np.asarray(labels)
    mean = x.mean(0)
    classes, inv = np.unique(labels, return_inverse=True)
    counts = np.bincount(inv).astype(np.float64)
    means = np.zeros((len(classes), x.shape[1]))
    np.add.at(means, inv, x)
    means /= counts[:, None]
    centred = x - means[inv]
    sw = centred.T @ centred / len(x)
    dm = means - mean
    sb = (dm * counts[:, None]).T @ dm / len(x)
    return mean, sw, sb


def fit_lda(x: np.ndarray, labels, dim: int | None) -> tuple[np.ndarray, np.ndarray]:
    """LDA: (mean [D], projection [D, dim]) maximising between/within scatter (generalised eigh).

    ``dim`` None = n_classes - 1 (capped at D), the largest the data supports.
    """
    mean, sw, sb = class_scatter(x, labels)
    n_classes = len(np.unique(labels))
    dim = min(dim or n_classes - 1, n_classes - 1, x.shape[1])
    sw = sw + 1e-6 * np.trace(sw) / len(sw) * np.eye(len(sw))
    vals, vecs = scipy.linalg.eigh(sb, sw)
    return mean, vecs[:, np.argsort(vals)[::-1][:dim]]


@dataclass
class PLDA:
    """Two-covariance PLDA in its diagonalised form: x -> (x - mean) @ proj has Sw = I, Sb = diag(psi)."""

    mean: np.ndarray  # [D]
    proj: np.ndarray  # [D, D]
    psi: np.ndarray  # [D]

    @classmethod
    def fit(cls, x: np.ndarray, labels, n_iter: int = 10) -> "PLDA":
        mean, sw, sb = em_two_covariance(np.asarray(x, dtype=np.float64), labels, n_iter)
        # simultaneous diagonalisation: proj.T sw proj = I, proj.T sb proj = diag(psi)
        psi, proj = scipy.linalg.eigh(sb, sw)
        return cls(mean, proj, np.maximum(psi, 1e-8))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.proj

    def score(self, enroll: np.ndarray, test: np.ndarray, pairs: np.ndarray | None = None,
              chunk: int = 32_768) -> np.ndarray:
        """LLR (Eq. 1) for trials ``pairs`` [n, 2] of (enroll row, test row); all pairs [n_e, n_t] if None."""
        u, v = self.transform(enroll), self.transform(test)
        a, b = self.psi + 1.0, self.psi
        det = a * a - b * b
        const = float(np.sum(-0.5 * np.log(det) + np.log(a)))
        q1 = -0.5 * (a / det - 1.0 / a)
        q2 = b / det
        su, sv = (u * u) @ q1, (v * v) @ q1
        uq = (u * q2).astype(np.float32)
        v32 = v.astype(np.float32)
        if pairs is None:
            return const + su[:, None] + sv[None, :] + uq @ v32.T
        pairs = np.asarray(pairs)
        out = np.empty(len(pairs), dtype=np.float64)
        for s in range(0, len(pairs), chunk):
            e, t = pairs[s:s + chunk, 0], pairs[s:s + chunk, 1]
            out[s:s + chunk] = const + su[e] + sv[t] + np.einsum("nd,nd->n", uq[e], v32[t])
        return out


def em_two_covariance(x: np.ndarray, labels, n_iter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM for x_si = m + y_s + e_si (Sb = cov y, Sw = cov e); returns (m, Sw, Sb). Speakers grouped by count."""
    labels = np.asarray(labels)
    m, sw, sb = class_scatter(x, labels)
    classes, inv = np.unique(labels, return_inverse=True)
    counts = np.bincount(inv)
    sums = np.zeros((len(classes), x.shape[1]))
    np.add.at(sums, inv, x)
    dim = x.shape[1]
    eye = np.eye(dim) * 1e-6
    for _ in range(n_iter):
        b_prec, w_prec = np.linalg.inv(sb + eye), np.linalg.inv(sw + eye)
        ey = np.zeros_like(sums)
        cov_sum = np.zeros((dim, dim))  # sum over speakers of n_s * Cov[y_s]
        cov_spk = np.zeros((dim, dim))  # sum over speakers of Cov[y_s]
        for n in np.unique(counts):
            idx = np.where(counts == n)[0]
            cov = np.linalg.inv(b_prec + n * w_prec)
            ey[idx] = (b_prec @ m + sums[idx] @ w_prec) @ cov  # cov symmetric
            cov_sum += n * len(idx) * cov
            cov_spk += len(idx) * cov
        m = ey.mean(0)
        dy = ey - m
        sb = (dy.T @ dy + cov_spk) / len(classes)
        r = x - ey[inv]
        sw = (r.T @ r + cov_sum) / len(x)
    return m, sw, sb


@dataclass
class Backend:
    """Mean subtraction -> LDA -> length norm -> PLDA, fitted on training embeddings."""

    mean: np.ndarray
    lda: np.ndarray
    plda: PLDA

    @classmethod
    def fit(cls, x: np.ndarray, labels, lda_dim: int | None = None, n_iter: int = 10) -> "Backend":
        x = np.asarray(x, dtype=np.float64)
        mean = x.mean(0)
        _, lda = fit_lda(x - mean, labels, lda_dim)
        return cls(mean, lda, PLDA.fit(length_norm((x - mean) @ lda), labels, n_iter))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Embeddings [N, D] -> length-normalised LDA space [N, lda_dim] (the PLDA's input)."""
        return length_norm((np.asarray(x, dtype=np.float64) - self.mean) @ self.lda)

    def score(self, enroll: np.ndarray, test: np.ndarray, pairs=None) -> np.ndarray:
        return self.plda.score(self.transform(enroll), self.transform(test), pairs)

    def save(self, path) -> None:
        np.savez(path, mean=self.mean, lda=self.lda, plda_mean=self.plda.mean, plda_proj=self.plda.proj,
                 plda_psi=self.plda.psi)

    @classmethod
    def load(cls, path) -> "Backend":
        z = np.load(path)
        return cls(z["mean"], z["lda"], PLDA(z["plda_mean"], z["plda_proj"], z["plda_psi"]))


def cosine_scores(enroll: np.ndarray, test: np.ndarray, pairs: np.ndarray, mean: np.ndarray | None = None
                  ) -> np.ndarray:
    """Cosine similarity per trial (after subtracting ``mean``, e.g. the training mean)."""
    e, t = np.asarray(enroll, dtype=np.float64), np.asarray(test, dtype=np.float64)
    if mean is not None:
        e, t = e - mean, t - mean
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    pairs = np.asarray(pairs)
    return np.einsum("nd,nd->n", e[pairs[:, 0]], t[pairs[:, 1]])


# ---- GMM-UBM / i-vector (Dehak et al.; paper Sec. 4: UBM/i-vector and BNF/i-vector baselines) ----

@dataclass
class DiagGMM:
    """Diagonal-covariance GMM: weights [K], means [K, D], variances [K, D]."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def log_resp(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log posteriors [N, K], per-frame log-likelihood [N]) of frames x [N, D], via matmuls."""
        prec = 1.0 / self.variances
        ll = (-0.5 * (x * x) @ prec.T + x @ (self.means * prec).T
              - 0.5 * np.sum(self.means ** 2 * prec + np.log(2 * np.pi * self.variances), 1)
              + np.log(self.weights))
        tot = np.logaddexp.reduce(ll, axis=1)
        return ll - tot[:, None], tot

    @classmethod
    def fit(cls, x: np.ndarray, n_components: int, n_iter: int = 20, seed: int = 0,
            var_floor: float = 1e-3) -> "DiagGMM":
        """EM from K random frames as means, the global variance, equal weights."""
        x = np.asarray(x, dtype=np.float64)
        rng = np.random.default_rng(seed)
        k = min(n_components, len(x))
        gvar = x.var(0) + 1e-6
        gmm = cls(np.full(k, 1.0 / k), x[rng.choice(len(x), k, replace=False)].copy(), np.tile(gvar, (k, 1)))
        for _ in range(n_iter):
            post = np.exp(gmm.log_resp(x)[0])
            n = post.sum(0) + 1e-10
            means = post.T @ x / n[:, None]
            var = post.T @ (x * x) / n[:, None] - means ** 2
            gmm = cls(n / n.sum(), means, np.maximum(var, var_floor * gvar))
        return gmm


def baum_welch(gmm: DiagGMM, feats: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Zeroth [U, K] and centred, variance-whitened first-order stats [U, K, D] per utterance."""
    n_all, f_all = [], []
    sd = np.sqrt(gmm.variances)
    for x in feats:
        x = np.asarray(x, dtype=np.float64)
        post = np.exp(gmm.log_resp(x)[0])
        n = post.sum(0)
        f = post.T @ x - n[:, None] * gmm.means
        n_all.append(n)
        f_all.append(f / sd)
    return np.stack(n_all), np.stack(f_all)


@dataclass
class IvectorExtractor:
    """Total-variability model: supervector M = m + T w, w ~ N(0, I); T stored per component [K, D, R]."""

    ubm: DiagGMM
    T: np.ndarray

    def posterior(self, n: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """i-vectors E[w] [U, R] and precisions L = I + sum_c N_c T_c' T_c [U, R, R]."""
        ttt = np.einsum("kdr,kds->krs", self.T, self.T)
        prec = np.eye(self.T.shape[2]) + np.einsum("uk,krs->urs", n, ttt)
        lin = np.einsum("kdr,ukd->ur", self.T, f)
        return np.linalg.solve(prec, lin[..., None])[..., 0], prec

    def extract(self, feats: list[np.ndarray]) -> np.ndarray:
        return self.posterior(*baum_welch(self.ubm, feats))[0]

    @classmethod
    def fit(cls, ubm: DiagGMM, feats: list[np.ndarray], dim: int, n_iter: int = 5, seed: int = 0
            ) -> "IvectorExtractor":
        """EM for T: E-step gives E[w], E[ww']; M-step T_c = (sum_u F_uc E[w]') (sum_u N_uc E[ww'])^-1."""
        n, f = baum_welch(ubm, feats)
        k, d = ubm.means.shape
        rng = np.random.default_rng(seed)
        model = cls(ubm, rng.standard_normal((k, d, dim)) * 0.1)
        for _ in range(n_iter):
            w, prec = model.posterior(n, f)
            eww = np.linalg.inv(prec) + w[:, :, None] * w[:, None, :]
            acc_c = np.einsum("ukd,ur->kdr", f, w)
            acc_a = np.einsum("uk,urs->krs", n, eww)
            model = cls(ubm, np.linalg.solve(acc_a, acc_c.transpose(0, 2, 1)).transpose(0, 2, 1))
        return model

    def save(self, path) -> None:
        np.savez(path, weights=self.ubm.weights, means=self.ubm.means, variances=self.ubm.variances, T=self.T)

    @classmethod
    def load(cls, path) -> "IvectorExtractor":
        z = np.load(path)
        return cls(DiagGMM(z["weights"], z["means"], z["variances"]), z["T"])


def deltas(x: np.ndarray, window: int = 2) -> np.ndarray:
    """Kaldi-style regression deltas of [T, D] (edges replicated)."""
    t = len(x)
    xp = np.pad(x, ((window, window), (0, 0)), mode="edge")
    num = sum(k * (xp[window + k: window + k + t] - xp[window - k: window - k + t]) for k in range(1, window + 1))
    return num / (2 * sum(k * k for k in range(1, window + 1)))


def feature_warp(x: np.ndarray, window: int = 301) -> np.ndarray:
    """Short-time Gaussianisation (Pelecanos & Sridharan): each frame's rank in its window -> N(0,1) quantile."""
    from scipy.stats import norm

    t = len(x)
    w = min(window, t)
    start = np.clip(np.arange(t) - w // 2, 0, t - w)
    win = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)[start]  # [T, D, w]
    rank = (win < x[:, :, None]).sum(-1) + 0.5 * (win == x[:, :, None]).sum(-1)
    return norm.ppf(rank / w).astype(np.float32)


def ivector_features(feats: np.ndarray, n_ceps: int | None, add_deltas: bool, warp: bool) -> np.ndarray:
    """i-vector front end: first ``n_ceps`` coefficients (+ delta + delta-delta), feature-warped."""
    x = np.asarray(feats, dtype=np.float64)[:, :n_ceps] if n_ceps else np.asarray(feats, dtype=np.float64)
    if warp:
        x = feature_warp(x)
    if add_deltas:
        d1 = deltas(x)
        x = np.concatenate([x, d1, deltas(d1)], axis=1)
    return x.astype(np.float32)


# ---- trials ----

def make_trials(utt2spk: dict, n_per_class: int, seed: int) -> list[tuple[str, str, str]]:
    """Balanced verification trials among the speakers of ``utt2spk`` (deterministic from ``seed``).

    Up to ``n_per_class`` target pairs (two different utterances of one speaker) and as many
    non-target pairs (utterances of two different speakers), drawn without replacement.
    """
    utts = sorted(utt2spk)
    spk = np.array([utt2spk[u] for u in utts])
    if len(set(spk)) < 2:
        raise ValueError(f"trials need at least 2 speakers, got {sorted(set(spk))}")
    i, j = np.triu_indices(len(utts), 1)
    same = spk[i] == spk[j]
    rng = np.random.default_rng(seed)
    tar = np.flatnonzero(same)
    non = np.flatnonzero(~same)
    n = min(n_per_class, len(tar), len(non))
    chosen = [(t, "target") for t in rng.choice(tar, n, replace=False)] + \
             [(t, "nontarget") for t in rng.choice(non, n, replace=False)]
    return sorted((utts[i[t]], utts[j[t]], lab) for t, lab in chosen)


def trial_arrays(trials, enroll_keys, test_keys) -> tuple[np.ndarray, np.ndarray]:
    """(pairs [n, 2] of row indices into enroll/test keys, labels [n] 1=target) for trial tuples."""
    e_idx = {k: n for n, k in enumerate(enroll_keys)}
    t_idx = {k: n for n, k in enumerate(test_keys)}
    missing = [u for tr in trials for u in tr[:2] if u not in e_idx and u not in t_idx]
    if missing:
        raise KeyError(f"no embedding for trial utterance '{missing[0]}'")
    pairs = np.array([[e_idx[a], t_idx[b]] for a, b, _ in trials], dtype=np.int64)
    labels = np.array([lab == "target" for _, _, lab in trials], dtype=np.int64)
    return pairs, labels
