"""Build the embedded LSC road graph file (geodata/data/roads/lsc_graph.npz) from the authored data."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geodata.roadgraph import DEFAULT_GRAPH_PATH, save_graph  # noqa: E402
from geodata.roads import build_lsc_graph  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data",
                    help="folder holding lsoa/, boundaries/ and postcode-districts/ (default ../shared/data)")
    ap.add_argument("--out", type=Path, default=DEFAULT_GRAPH_PATH, help="graph file to write")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    graph = build_lsc_graph(shared_data=args.shared_data, progress=not args.quiet)
    save_graph(graph, args.out, meta=graph.graph["meta"])
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(f"wrote {args.out} ({graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, "
          f"{args.out.stat().st_size / 1024:.0f} KiB, sha256 {digest}) in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
