"""Compare two sets of judged results pair by pair: the earlier defaults against the new, say.

    python bench/compare.py bench/results/old-512/judge.json bench/results/new-512 --evals=150

Each side is a ``quality.py --judge`` file (``judge.json``) or a ``quality.py`` run folder (one JSON per pair;
``--evals`` picks the snapshot, default the last). Prints a markdown table per pair: style (sliced Wasserstein)
and content (conv4_2 + conv5_2) ratios of both, the new over the old, the Gram ratio's mean and conv5_1 value,
and the verdict of the rule "both at or below, or one clearly better (by more than 10%) with the other within
10%".
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics

CLEARLY = 0.10  # "clearly better": more than 10% lower; "within": at most 10% higher


def _mean(value) -> float:
    return value["mean"] if isinstance(value, dict) else value


def load(source: str, evals: int | None) -> dict[str, dict]:
    """``{pair: scores}`` from a judge.json or a run folder."""
    path = pathlib.Path(source)
    if path.is_file():
        return {pathlib.Path(item["name"]).stem: item["scores"] for item in json.loads(path.read_text())}
    pairs = {}
    for file in sorted(path.glob("*__*.json")):
        record = json.loads(file.read_text())
        snapshots = record["snapshots"]
        chosen = [s for s in snapshots if s["evals"] == evals] if evals else snapshots[-1:]
        if chosen:
            pairs[file.stem] = chosen[0]["scores"] | {"ref_steps": chosen[0].get("reference_steps")}
    return pairs


def verdict(style: float, content: float) -> str:
    """``style`` and ``content``: new over old."""
    if style <= 1 and content <= 1:
        return "both better"
    if (style < 1 - CLEARLY and content <= 1 + CLEARLY) or (content < 1 - CLEARLY and style <= 1 + CLEARLY):
        return "one clearly better, other within 10%"
    return "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--evals", type=int, default=None, help="snapshot of a run folder to compare")
    args = parser.parse_args()
    old, new = load(args.old, args.evals), load(args.new, args.evals)
    print(
        "| pair | style SWD old | new | new/old | content old | new | new/old | Gram mean old / new | "
        "Gram conv5_1 old / new | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for pair in sorted(set(old) & set(new)):
        o, n = old[pair], new[pair]
        style = _mean(n["style_swd"]) / _mean(o["style_swd"])
        content = _mean(n["content_ratio"]) / _mean(o["content_ratio"])
        ratios.append((style, content))
        print(
            f"| {pair} | {_mean(o['style_swd']):.3f} | {_mean(n['style_swd']):.3f} | {style:.2f} | "
            f"{_mean(o['content_ratio']):.3f} | {_mean(n['content_ratio']):.3f} | {content:.2f} | "
            f"{_mean(o['gram']):.3f} / {_mean(n['gram']):.3f} | "
            f"{o['gram']['block5_conv1']:.3f} / {n['gram']['block5_conv1']:.3f} | {verdict(style, content)} |"
        )
    if ratios:
        style, content = (statistics.median(r[i] for r in ratios) for i in (0, 1))
        print(f"| **median** | | | **{style:.2f}** | | | **{content:.2f}** | | | |")


if __name__ == "__main__":
    main()
