"""Unzipped deployment size of each function with its layers, from `sam build`'s output.

    sam build && python benchmarks/deployment_size.py

Lambda's limit is 250 MB unzipped for a function and all its layers together.
"""

from __future__ import annotations

import sys
from pathlib import Path

BUILD = Path(__file__).resolve().parents[1] / ".aws-sam" / "build"
LIMIT_MB = 250


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> int:
    if not BUILD.is_dir():
        print(f"no {BUILD}: run sam build first (make infra)", file=sys.stderr)
        return 1
    layers = [d for d in BUILD.iterdir() if d.is_dir() and d.name.endswith("Layer")]
    layer_mb = sum(size_mb(d) for d in layers)
    print("| function | code MB | with layers MB | limit MB |\n|---|---|---|---|")
    worst = 0.0
    for function in sorted(d for d in BUILD.iterdir() if d.is_dir() and d not in layers):
        total = size_mb(function) + layer_mb
        worst = max(worst, total)
        print(f"| {function.name} | {size_mb(function):.2f} | {total:.1f} | {LIMIT_MB} |")
    print(f"layers: {', '.join(f'{d.name} {size_mb(d):.1f} MB' for d in layers)}")
    return 0 if worst < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
