"""Train the instrument network (:mod:`companion.analysis.mel_cnn`), validated on source families held out.

Usage (the sets of ``fit_descriptor_models.py``; needs torch, e.g. ``pip install torch``)::

    python benchmarks/datasets/fit_instrument_cnn.py --oneshots /tmp/os --loops /tmp/loops [--write]
    python benchmarks/datasets/fit_descriptor_models.py --oneshots /tmp/os --loops /tmp/loops \\
        --cnn-lofo /tmp/os/instrument_cnn_lofo.npz [--write]

Protocol, as for the descriptor models: every figure printed here comes from a network that saw
no file of the family it predicts (leave-one-family-out over fluidr3, csound, avl, freepats,
synth), and those held-out probabilities are written to ``--lofo-out`` so that
``fit_descriptor_models.py`` chooses the instrument model's configuration and confidence
threshold on the *combined* held-out probabilities. The Debian libraries are never trained on
(reported by ``fit_descriptor_models.py``). Reserved for acceptance checks and never read: TimGM6mb, MuseScore
General, OPL-3 FM, ``hydrogen-drumkits``.

Training (fixed, not tuned per family): AdamW (weight decay 1e-3), one-cycle learning rate up to
3e-3 (Smith & Topin 2019), batches of 64, ``--epochs`` passes, cross-entropy with label
smoothing 0.05 and class weights ∝ 1/√(class count); augmentation per example: a pitch shift
of −2…2 semitones made in Hz (:func:`_pitch_shift`), a delay of 0–4 frames, and one band of
0–4 mel bands masked (SpecAugment, Park et al. 2019); then a random equaliser (a tilt of
−6…6 dB across the bands plus one bell of −8…8 dB) and a time stretch of ×0.75…×1.33, the
"random frequency filters" and time stretching of Schlüter & Grill, "Exploring data augmentation
for improved singing voice detection with neural networks", ISMIR 2015: another soundfont or
synth voices the same instrument with another spectral balance and envelope. Those two were
chosen on the leave-one-family-out figures alone.

``--seeds N`` trains N networks with seeds 0…N−1 on the same data and averages their
probabilities (held-out figures included); the app does the same with the N files written.
``--write`` trains on every family and writes
``companion/analysis/models/instrument_cnn_<seed>.npz`` after checking that each numpy network
gives torch's probabilities.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labelled_sets as L
from fit_descriptor_models import FAMILIES
from fit_descriptor_models import load as load_rows

from companion.analysis.fitted import MODEL_DIR
from companion.analysis.instrument_model import NETWORKS
from companion.analysis.instruments import DRUM_HITS
from companion.analysis.mel_cnn import FLOOR_DB, FMAX, FMIN, N_MELS, MelCnn

CHANNELS = (16, 32, 64, 64)
POOLS = (True, True, True, False)
DROPOUT = 0.3
BATCH = 64


def load(oneshots: Path, loops: Path) -> tuple[np.ndarray, list[dict]]:
    """Network inputs and label rows of every fitting set, in ``fit_descriptor_models.load``'s order."""
    _, rows = load_rows(oneshots, loops)
    folders = list(dict.fromkeys(str(Path(r["path"]).parent) for r in rows))
    return np.concatenate([L.generated_patches(Path(f)) for f in folders]), rows


def build(n_classes: int):
    """The torch network of :class:`companion.analysis.mel_cnn.MelCnn`."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c_in = 1
            for c, pool in zip(CHANNELS, POOLS):
                layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
                if pool:
                    layers.append(nn.MaxPool2d(2))
                c_in = c
            self.features = nn.Sequential(*layers)
            rows = N_MELS // 2 ** sum(POOLS)
            self.head = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(2 * CHANNELS[-1] * rows, n_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.features((x + 40.0) / 40.0)
            return self.head(torch.cat([h.mean(3), h.amax(3)], 1).flatten(1))

    return Net()


def _augment(xb, rng: np.random.Generator):
    """Augment a batch (n, 1, N_MELS, N_FRAMES) of dB inputs (see the module docstring)."""
    xb = _pitch_shift(xb, rng)
    for i in range(xb.shape[0]):
        delay = int(rng.integers(0, 5))
        if delay:
            xb[i, :, :, delay:] = xb[i, :, :, :-delay].clone()
            xb[i, :, :, :delay] = FLOOR_DB
        f0 = int(rng.integers(0, N_MELS - 4))
        xb[i, :, f0 : f0 + int(rng.integers(0, 5))] = FLOOR_DB
    return _stretch(_equalise(xb, rng), rng)


def _pitch_shift(xb, rng: np.random.Generator):
    """Shift each example's spectrum by −2…2 semitones (uniform): every mel band takes the value
    (in dB, interpolated linearly between bands) that the spectrum had at its centre frequency
    ÷ 2^(s/12); the edge bands are repeated past the ends.

    A shift in Hz, not in bands: below 1 kHz a mel band is about 67 Hz wide, and rolling the
    bands moved a 50 Hz kick up to 180 Hz, a tom's register (and wrapped the lowest bands round to
    the top)."""
    import librosa
    import torch

    centres = librosa.mel_frequencies(N_MELS + 2, fmin=FMIN, fmax=FMAX)[1:-1]
    bands = np.arange(N_MELS)
    n = xb.shape[0]
    mix = np.zeros((n, N_MELS, N_MELS), dtype=np.float32)
    for i, s in enumerate(rng.uniform(-2.0, 2.0, n)):
        src = np.interp(centres / 2.0 ** (s / 12.0), centres, bands)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, N_MELS - 1)
        w = (src - lo).astype(np.float32)
        mix[i, bands, lo] += 1 - w
        mix[i, bands, hi] += w
    return torch.einsum("nij,ncjt->ncit", torch.from_numpy(mix), xb)


def _equalise(xb, rng: np.random.Generator):
    """A random tilt (−6…6 dB from the lowest to the highest band) plus one bell (−8…8 dB,
    centre anywhere, width 0.1–0.4 of the band range) per example, added in dB; renormalised to
    the loudest bin as :func:`companion.analysis.mel_cnn.mel_patch` is, floor bins kept."""
    import torch

    n = xb.shape[0]
    bands = torch.linspace(-1, 1, N_MELS)[None, :]
    tilt, centre, gain, width = (
        torch.tensor(rng.uniform(lo, hi, (n, 1)), dtype=torch.float32)
        for lo, hi in ((-6, 6), (-1, 1), (-8, 8), (0.1, 0.4))
    )
    curve = tilt * bands + gain * torch.exp(-0.5 * ((bands - centre) / width) ** 2)
    floor = xb <= FLOOR_DB
    x = xb + curve[:, None, :, None]
    x = torch.clamp(x - x.amax(dim=(1, 2, 3), keepdim=True), min=FLOOR_DB)
    x[floor] = FLOOR_DB
    return x


def _stretch(xb, rng: np.random.Generator):
    """Stretch each example in time by a random factor of 0.75–1.33 (log-uniform; bilinear
    resampling of the frames), cut or padded with the floor to N_FRAMES."""
    import torch
    from torch.nn.functional import interpolate

    n, _, m, t = xb.shape
    out = torch.full_like(xb, FLOOR_DB)
    for i in range(n):
        new_t = max(2, int(round(t * float(np.exp(rng.uniform(np.log(0.75), np.log(1.33)))))))
        z = interpolate(xb[i : i + 1], size=(m, new_t), mode="bilinear", align_corners=False)
        keep = min(t, new_t)
        out[i, :, :, :keep] = z[0, :, :, :keep]
    return out


def train(M: np.ndarray, y: np.ndarray, n_classes: int, epochs: int, seed: int = 0):
    """Train one network on inputs (n, N_MELS, N_FRAMES) and class indices (n,)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build(n_classes)
    counts = np.bincount(y, minlength=n_classes)
    weight = torch.tensor((counts.sum() / np.maximum(counts, 1) / n_classes) ** 0.5, dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.05)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-3)
    steps = epochs * ((len(y) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    X, Y = torch.tensor(M)[:, None], torch.tensor(y)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(y))
        for b in range(0, len(y), BATCH):
            idx = order[b : b + BATCH]
            opt.zero_grad()
            loss_fn(net(_augment(X[idx], rng)), Y[idx]).backward()
            opt.step()
            sched.step()
    return net.eval()


def torch_proba(net, M: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(net(torch.tensor(M)[:, None]), 1).double().numpy()


def to_arrays(net, classes: list[str]) -> MelCnn:
    """The numpy form of a trained torch network: batch norm folded into each convolution."""
    convs = []
    modules = list(net.features)
    for i, m in enumerate(modules):
        if m.__class__.__name__ != "Conv2d":
            continue
        bn = modules[i + 1]
        g = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().numpy()
        w = m.weight.detach().numpy() * g[:, None, None, None]
        b = (m.bias.detach().numpy() - bn.running_mean.numpy()) * g + bn.bias.detach().numpy()
        convs.append((w.astype(np.float32), b.astype(np.float32)))
    linear = net.head[1]
    return MelCnn(
        classes=tuple(classes),
        convs=tuple(convs),
        pools=POOLS,
        head_w=linear.weight.detach().numpy().astype(np.float32),
        head_b=linear.bias.detach().numpy().astype(np.float64),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oneshots", type=Path, required=True)
    parser.add_argument("--loops", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument(
        "--seeds", type=int, default=len(NETWORKS), help="networks trained with seeds 0..N-1 and averaged"
    )
    parser.add_argument("--lofo-out", type=Path, help="default: <oneshots>/instrument_cnn_lofo.npz")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    M, rows = load(args.oneshots, args.loops)
    labels = np.asarray([r.get("instrument") or "" for r in rows])
    fam = np.asarray([r["family"] for r in rows])
    keep = (labels != "") & np.isfinite(M).all(axis=(1, 2))
    classes = sorted(set(labels[keep]))
    y = np.asarray([classes.index(c) for c in labels[keep]])
    Mk, fk = M[keep], fam[keep]
    print(f"{len(y)} files, {len(classes)} classes: " + ", ".join(f"{f} {int((fk == f).sum())}" for f in FAMILIES))
    seeds = range(args.seeds)
    P = np.zeros((len(y), len(classes)))
    for f in FAMILIES:
        test = fk == f
        start = time.perf_counter()
        each = [torch_proba(train(Mk[~test], y[~test], len(classes), args.epochs, seed), Mk[test]) for seed in seeds]
        P[test] = np.mean(each, axis=0)
        accs = ", ".join(f"seed {s} {(p.argmax(1) == y[test]).mean():.3f}" for s, p in zip(seeds, each))
        acc = float((P[test].argmax(1) == y[test]).mean())
        print(f"  held out {f}: accuracy {acc:.3f} ({accs}; {time.perf_counter() - start:.0f} s)", flush=True)
    ok = P.argmax(1) == y
    names = np.asarray(classes)[y]
    drums = np.isin(names, list(DRUM_HITS))
    pitched = ~drums & (names != "drums") & (names != "fx")
    print(
        f"  network alone, out of family: mean over families {np.mean([ok[fk == f].mean() for f in FAMILIES]):.3f}, "
        f"drum hits {ok[drums].mean():.3f}, pitched {ok[pitched].mean():.3f}"
    )
    paths = np.asarray([r["path"] for r in rows])[keep]
    out = args.lofo_out or args.oneshots / "instrument_cnn_lofo.npz"
    np.savez(out, P=P, paths=paths, classes=np.asarray(classes))
    print(f"  wrote the held-out probabilities to {out}")
    if args.write:
        MODEL_DIR.mkdir(exist_ok=True)
        sample = Mk[:: max(1, len(Mk) // 64)]
        for seed in seeds:
            net = train(Mk, y, len(classes), args.epochs, seed)
            model = to_arrays(net, classes)
            diff = np.abs(np.stack([model.proba(m) for m in sample]) - torch_proba(net, sample)).max()
            if diff > 1e-4:
                raise SystemExit(f"numpy network differs from torch by {diff:.2e}")
            model.save(MODEL_DIR / f"instrument_cnn_{seed}.npz")
            print(f"  wrote {MODEL_DIR / f'instrument_cnn_{seed}.npz'} (numpy vs torch: max |Δp| {diff:.1e})")
        if [f"instrument_cnn_{seed}" for seed in seeds] != list(NETWORKS):
            print(f"  the app loads {NETWORKS}: set instrument_model.NETWORKS to the networks written")


if __name__ == "__main__":
    main()
