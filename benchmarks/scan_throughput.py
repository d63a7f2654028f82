"""Scan throughput on the real Debian libraries: full analysis plus fingerprint, cold catalog.

Usage: python benchmarks/scan_throughput.py [--workers N] [FOLDER ...]
(default folders: /usr/share/sonic-pi/samples and /usr/share/lmms/samples).

Prints per-phase timings and ends with one line of name=value figures. The engine's target is
>= 10 files/s on 2 cores (whole pipeline: hash, decode, analysis, fingerprint, catalog writes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from companion.library.catalog import Catalog
from companion.library.scanner import scan

DEFAULT = ["/usr/share/sonic-pi/samples", "/usr/share/lmms/samples"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", default=DEFAULT)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with Catalog.open(db) as cat:
            t0 = time.perf_counter()
            report = scan(cat, args.folders, workers=args.workers)
            total_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = scan(cat, args.folders, workers=args.workers)
            rescan_s = time.perf_counter() - t1
        files = report.analysed + report.problems
        print(f"folders: {', '.join(args.folders)}")
        print(f"found {report.found} files; analysed {report.analysed}; problems {report.problems}")
        print(f"index phase {report.index_s:.2f} s; analyse phase {report.analyse_s:.2f} s; total {total_s:.2f} s")
        print(f"unchanged rescan: {again.unchanged} files in {rescan_s:.2f} s")
        print(
            f"workers={args.workers} files={files} files_per_s={files / report.analyse_s:.2f} "
            f"end_to_end_files_per_s={files / total_s:.2f} index_s={report.index_s:.3f} "
            f"rescan_s={rescan_s:.3f}"
        )


if __name__ == "__main__":
    main()
