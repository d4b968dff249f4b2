"""BNF DNNs and x-vector TDNN: shapes, gradients, splicing, CTC decoding, front-end helpers."""

import numpy as np
import pytest
import torch

from pystn.models import bnf as M
from pystn.models import xvector as X
from pystn.training import TrainConfig


def test_splice_orders_context_and_replicates_edges():
    x = torch.arange(5, dtype=torch.float32).view(1, 5, 1)
    s = M.splice(x, context=1, stride=2)
    assert s.shape == (1, 5, 3)
    assert s[0].tolist() == [[0, 0, 2], [0, 1, 3], [0, 2, 4], [1, 3, 4], [2, 4, 4]]


def test_bottleneck_dnn_shapes_gradients_and_linear_bottleneck():
    torch.manual_seed(0)
    net = M.BottleneckDNN(10, n_phones=6, hidden=32, n_hidden=7, bn_dim=8, context=2, n_speakers=4)
    x, lengths = torch.randn(3, 20, 10), torch.tensor([20, 15, 9])
    out = net(x, lengths)
    assert out["bnf"].shape == (3, 20, 8) and out["phone_logits"].shape == (3, 20, 6)
    assert out["speaker_logits"].shape == (3, 20, 4)
    assert (out["bnf"] < 0).any()  # the bottleneck is linear (no ReLU)
    assert (out["bnf"][2, 9:] == 0).all() and out["lengths"].tolist() == [20, 15, 9]
    # a padded utterance gets the same outputs as alone (edge replication, BatchNorm on real frames)
    net.eval()
    alone = net(x[2:3, :9], torch.tensor([9]))
    assert torch.allclose(net(x, lengths)["phone_logits"][2, :9], alone["phone_logits"][0], atol=1e-5)
    sub = M.BottleneckDNN(10, n_phones=6, hidden=32, n_hidden=3, bn_dim=8, context=2, subsample=3).eval()
    o = sub(x, lengths)
    assert o["phone_logits"].shape == (3, 7, 6) and o["lengths"].tolist() == [7, 5, 3]
    assert sub.bottleneck(x, lengths).shape == (3, 20, 8)
    net.train()
    assert len(net.layers) == 7 and len(net.layers[net.bn_layer]) == 1
    net.eval()
    assert torch.allclose(net.bottleneck(x[:1, :9]), net(x[:1, :9], torch.tensor([9]))["bnf"], atol=1e-5)
    net.train()
    phones, plen = torch.tensor([[1, 2, 3], [2, 2, 0], [5, 0, 0]]), torch.tensor([3, 2, 1])
    loss, terms = M.bnf_loss(net(x, lengths), phones, plen, torch.tensor([0, 1, 3]), 0.5)
    loss.backward()
    assert set(terms) == {"ctc", "speaker_ce"} and torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters() if p.requires_grad)


def test_cmn_removes_utterance_offsets():
    net = M.BottleneckDNN(4, n_phones=3, hidden=8, n_hidden=2, bn_dim=2, context=0).eval()
    x = torch.randn(1, 30, 4)
    assert torch.allclose(net.bottleneck(x), net.bottleneck(x + 5.0), atol=1e-5)


def test_greedy_decode_merges_repeats_drops_blanks_and_smooths_flickers():
    seq = [0, 3, 3, 0, 3, 2, 2, 0, 0, 1]
    logits = torch.nn.functional.one_hot(torch.tensor(seq), 4).float()
    assert M.greedy_decode(logits) == [3, 3, 2, 1]
    assert M.greedy_decode(logits, length=4) == [3]
    # a frame classifier's one-frame flicker (the lone 1) is an insertion unless smoothed
    frames = [2, 2, 2, 1, 2, 2, 2, 0, 0, 0, 3, 3, 3, 3]
    logits = 5 * torch.nn.functional.one_hot(torch.tensor(frames), 4).float()
    assert M.greedy_decode(logits) == [2, 1, 2, 3]
    assert M.greedy_decode(logits, smooth=3) == [2, 3]


def toy_phone_data(n_utts=24, seed=0):
    """Each phone p is a 5-d Gaussian around a distinct centre, 4-8 frames long; blanks are silence.

    Also returns the alignment (phone, start_s, end_s) for 10 ms frames of 10 ms length."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (5, 5))
    feats, phones, spk, ali = {}, {}, {}, {}
    for u in range(n_utts):
        seq = list(rng.integers(1, 5, 6))
        frames = [rng.normal(0, 0.3, (3, 5))]
        key = f"s{u % 3}_u{u:02d}"
        ali[key] = []
        for p in seq:
            start = sum(len(f) for f in frames)
            frames.append(centres[p] + rng.normal(0, 0.3, (int(rng.integers(4, 9)), 5)))
            ali[key].append((f"p{p}", start * 0.01, (start + len(frames[-1])) * 0.01))
            frames.append(rng.normal(0, 0.3, (2, 5)))
        feats[key] = np.concatenate(frames).astype(np.float32)
        phones[key] = [f"p{p}" for p in seq]
        spk[key] = f"s{u % 3}"
    return feats, phones, spk, ali


def test_frame_targets_label_frame_centres():
    segs = [("a", 0.05, 0.10), ("b", 0.10, 0.20)]
    # 25 ms frames every 10 ms: centres 12.5, 22.5, ... ms
    labels = M.frame_targets(segs, 22, ["<blk>", "a", "b"], 0.010, 0.025)
    assert labels.tolist() == [0] * 4 + [1] * 5 + [2] * 10 + [0] * 3
    with pytest.raises(Exception, match="u1: phone 'c'"):
        M.frame_targets([("c", 0.0, 0.1)], 5, ["<blk>", "a"], 0.01, 0.025, "u1")


def test_frame_loss_ignores_padding_and_subsamples():
    torch.manual_seed(0)
    net = M.BottleneckDNN(5, n_phones=3, hidden=16, n_hidden=2, bn_dim=4, context=1, subsample=2)
    x, lengths = torch.randn(2, 10, 5), torch.tensor([10, 6])
    targets = torch.tensor([[1] * 10, [2] * 6 + [-1] * 4])
    out = net(x, lengths)
    loss, terms = M.bnf_loss(out, targets, lengths, frames=True)
    logp = out["phone_logits"].log_softmax(-1)
    expected = -torch.cat([logp[0, :5, 1], logp[1, :3, 2]]).mean()  # output frames 0,2,4,.. of real input
    assert set(terms) == {"frame_ce"} and torch.allclose(loss, expected, atol=1e-6)


def test_train_bnf_learns_toy_phones(tmp_path):
    torch.set_num_threads(1)
    feats, phones, spk, ali = toy_phone_data()
    inventory = ["<blk>"] + [f"p{i}" for i in range(1, 5)]
    from pystn.metrics import error_rate
    from pystn.training import read_train_log

    for name, alignments in (("ctc", None), ("frames", ali)):
        smooth = 1 if alignments is None else 3
        cfg = TrainConfig(steps=150, lr=3e-3, log_every=50, ckpt_every=1000, device="cpu")
        model = M.train_bnf(feats, phones, spk, inventory, dict(hidden=48, n_hidden=3, bn_dim=8, context=2),
                            cfg, tmp_path / name, batch_size=8, val=(feats, phones), alignments=alignments,
                            frame_geometry=(0.01, 0.01), smooth=smooth)
        hyps = M.decode_batch(model, [feats[k] for k in sorted(feats)], smooth)
        per = error_rate([phones[k] for k in sorted(feats)], [[inventory[i] for i in h] for h in hyps])
        assert per < 0.15, name
        assert (tmp_path / name / "final.pt").is_file()
        assert ("frame_ce" in read_train_log(tmp_path / name)[-1]) == (alignments is not None)


def test_xvector_shapes_gradients_and_embedding_is_prenonlinearity():
    torch.manual_seed(0)
    net = X.XvectorNet(20, n_speakers=5, channels=32, pool_channels=64, emb_dim=16)
    x, lengths = torch.randn(4, 60, 20), torch.tensor([60, 50, 40, 30])
    emb, logits = net(x, lengths)
    assert emb.shape == (4, 16) and logits.shape == (4, 5)
    assert (emb < 0).any()  # layer 6 before its ReLU
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.eval()
    # statistics pooling ignores padded frames: a padded utterance embeds like the unpadded one
    # (garbage placed beyond the TDNN's +-7-frame receptive field of the last real frame)
    xp = x[3:4].clone()
    xp[:, 40:] = 50.0
    e_cut = net.embed(x[3:4, :30])
    d_masked = (net.embed(xp, torch.tensor([30])) - e_cut).abs().max()
    d_unmasked = (net.embed(xp) - e_cut).abs().max()
    assert d_masked < 0.05 * d_unmasked


def test_sliding_cmn_matches_bruteforce_and_prepare_frames_drops_silence():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(40, 3)).astype(np.float32)
    out = X.sliding_cmn(f, 10)
    for t in (0, 7, 20, 39):
        s = min(max(t - 5, 0), 30)
        assert np.allclose(out[t], f[t] - f[s:s + 10].mean(0), atol=1e-5)
    assert np.allclose(X.sliding_cmn(f, 0), f - f.mean(0), atol=1e-6)
    vad = np.r_[np.zeros(10), np.ones(25), np.zeros(5)]
    kept = X.prepare_frames(f + 3.0, vad, 0)
    assert kept.shape == (25, 3) and np.allclose(kept.mean(0), 0, atol=1e-5)
    assert X.prepare_frames(f, np.zeros(40), 0).shape == (40, 3)  # no speech detected: keep everything


def test_train_xvector_separates_toy_speakers(tmp_path):
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1.0, (4, 8))
    feats, utt2spk = {}, {}
    for s in range(4):
        for u in range(6):
            feats[f"s{s}_{u}"] = (centres[s] + rng.normal(0, 1.0, (80, 8))).astype(np.float32)
            utt2spk[f"s{s}_{u}"] = f"s{s}"
    cfg = TrainConfig(steps=60, lr=3e-3, log_every=20, ckpt_every=1000, device="cpu")
    net = X.train_xvector(feats, utt2spk, dict(channels=16, pool_channels=32, emb_dim=8), cfg,
                          tmp_path / "xv", batch_size=8, seg_range=(30, 60))
    emb = dict(X.extract_embeddings(net, feats))
    assert len(emb) == 24 and emb["s0_0"].shape == (8,)
    from pystn.training import read_train_log
    log = read_train_log(tmp_path / "xv")
    assert log[-1]["acc"] >= 0.75 and log[-1]["loss"] < log[0]["loss"]


def test_extractor_and_recognizer_load_from_training_dirs(tmp_path):
    """XvectorExtractor.embed_wav / PhoneRecognizer.recognize_wav compute the same features as the
    stored front end and match the network applied by hand."""
    import soundfile as sf

    from pystn import features
    from pystn.io import write_json
    from pystn.recognizer import PhoneRecognizer

    torch.set_num_threads(1)
    fbank = {"kind": "fbank", "sample_rate": 16000, "num_mel_bins": 40, "frame_length_ms": 25, "frame_shift_ms": 10}
    vad = {"kind": "vad", "sample_rate": 16000, "frame_length_ms": 25, "frame_shift_ms": 10}
    rng = np.random.default_rng(0)
    wav = tmp_path / "a.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 200 * t) * (t > 0.3) + 1e-4 * rng.standard_normal(16000)).astype(
        np.float32), 16000)
    base = features.extract_file(fbank, wav)
    feats = {f"s{i % 2}_{i}": base + rng.normal(0, 0.1, base.shape).astype(np.float32) for i in range(4)}
    phones = {k: ["a", "b"] for k in feats}
    cfg = TrainConfig(steps=3, log_every=1, ckpt_every=100, device="cpu")
    dnn = M.train_bnf(feats, phones, {k: k[:2] for k in feats}, ["<blk>", "a", "b"],
                      dict(hidden=16, n_hidden=3, bn_dim=6, context=1), cfg, tmp_path / "bnf")
    (tmp_path / "bnf" / "phones.txt").write_text("<blk>\na\nb\n")
    write_json(tmp_path / "bnf" / "front_end.json", {"base_preset": fbank, "bnf_chain": []})
    rec = PhoneRecognizer.load(tmp_path / "bnf")
    assert rec.feature_preset == fbank
    assert rec.recognize_wav(wav) == [rec.inventory[i] for i in M.decode_batch(dnn, [base])[0]]
    bnf = {k: dnn.bottleneck(torch.from_numpy(v)[None])[0].numpy() for k, v in feats.items()}
    net = X.train_xvector(bnf, {k: k[:2] for k in bnf}, dict(channels=8, pool_channels=16, emb_dim=4), cfg,
                          tmp_path / "xv", batch_size=4, seg_range=(20, 40))
    write_json(tmp_path / "xv" / "front_end.json", {"base_preset": fbank, "vad_preset": vad,
                                                     "bnf_chain": [str(tmp_path / "bnf")], "cmn_window": 0})
    ext = X.XvectorExtractor.load(tmp_path / "xv")
    e = ext.embed_wav(wav)
    frames = X.prepare_frames(bnf_of(dnn, base), features.extract_file(vad, wav), 0)
    assert frames.shape[0] < base.shape[0]  # the silent first 0.3 s is dropped by the VAD
    by_hand = net.embed(torch.from_numpy(frames)[None])[0].detach().numpy()
    assert np.allclose(e, by_hand, rtol=1e-3, atol=1e-4)  # float32 statistics pooling, two code paths
    with pytest.raises(FileNotFoundError, match="front_end.json"):
        X.XvectorExtractor.load(tmp_path / "bnf" / "checkpoints")


def bnf_of(dnn, feats):
    return dnn.bottleneck(torch.from_numpy(feats)[None])[0].numpy()
