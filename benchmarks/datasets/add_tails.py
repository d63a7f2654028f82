"""Copy a labelled set with a reverb tail after every file, as producers export loops "with tail".

Usage::

    python benchmarks/datasets/add_tails.py /tmp/loops/fluidr3_hard1 --out /tmp/loops/fluidr3_hard1tail [--seed 0]

A loop exported with the tail of its last bar ringing on is still a loop (and a one-shot with
a tail still a one-shot), but it ends in a decaying wash that the kind model, fitted on loops cut
exactly at the bar line, may take for an effect texture. Each file of the set is run through
pedalboard's ``Reverb`` (Freeverb) with a random room size (0.3–0.9) and wet level (0.15–0.4)
over the file and 0.5–2.5 s of silence after it; the result is cut where it falls 60 dB below
its peak (never before the file's own end) and faded out over 20 ms. ``labels.json`` keeps
every label and adds ``tail_s``, the seconds after the original end. Names are kept, so the
copy says nothing the original did not.

The evaluation tails of ``benchmarks/export_variants.py`` are other material: keep the sets
given a tail here apart from the sets the tail figures are read on.
Deterministic in ``--seed``; needs soundfile and pedalboard.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import soundfile as sf

#: Level below the peak (dB) where the tail is cut.
CUT_DB = -60.0
#: Fade at the cut (seconds).
FADE_S = 0.02


def with_tail(y: np.ndarray, sr: int, rng: random.Random) -> np.ndarray:
    """``y`` with a reverb tail after it.

    Args:
        y: (n, channels) float32 audio.
        sr: its sample rate (Hz).
        rng: the random stream choosing the room, wet level and tail length.

    Returns:
        (m, channels) float32, m ≥ n: the reverberated audio, cut :data:`CUT_DB` below its peak.
    """
    import pedalboard as pb

    pad = np.zeros((int(rng.uniform(0.5, 2.5) * sr), y.shape[1]), dtype=np.float32)
    room = pb.Reverb(room_size=rng.uniform(0.3, 0.9), wet_level=rng.uniform(0.15, 0.4), dry_level=0.8)
    z = pb.Pedalboard([room])(np.concatenate([y, pad]).T.copy(), sr).T
    env = np.abs(z).max(axis=1)
    loud = np.flatnonzero(env > env.max() * 10 ** (CUT_DB / 20.0))
    end = max(int(loud[-1]) + 1 if loud.size else 0, y.shape[0])
    z = z[:end]
    fade = min(int(FADE_S * sr), end - y.shape[0])
    if fade > 0:
        z[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return z.astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a labelled set (a folder with labels.json)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(f"tails:{args.seed}")
    rows = json.loads((args.source / "labels.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    out_rows = []
    for row in rows:
        y, sr = sf.read(args.source / row["file"], dtype="float32", always_2d=True)
        z = with_tail(y, sr, rng)
        name = Path(row["file"]).with_suffix(".wav").name
        sf.write(args.out / name, z, sr, subtype="PCM_16")
        out_rows.append(
            {
                **row,
                "file": name,
                "duration_s": round(z.shape[0] / sr, 6),
                "tail_s": round((z.shape[0] - y.shape[0]) / sr, 4),
            }
        )
    (args.out / "labels.json").write_text(json.dumps(out_rows, indent=1))
    tails = [r["tail_s"] for r in out_rows]
    print(f"wrote {len(out_rows)} files to {args.out}; tail median {np.median(tails):.2f} s")


if __name__ == "__main__":
    main()
