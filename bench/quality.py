"""Quality of tf_nst's results against time, judged by a VGG-19 of the bench's own (see ``judge.py``).

    python -m bench.quality --preset=old --label=old                   # 10 pairs, 512 px, 50-300 evaluations
    python -m bench.quality --size=256 --pairs=tubingen:starry_night   # quick
    python -m bench.quality --preset=default --set optimizer=lbfgs --set style_weight=10 --label=lbfgs-sw10
    python -m bench.quality --judge a.png b.png --content=photo.jpg --style=painting.jpg

Runs ``tf_nst.Stylizer`` on every photo and painting pair of the shared images (or ``--pairs``), one run to the
largest of ``--evals`` (one evaluation: one VGG-19 forward and backward pass), snapshots at each count with the
wall time to it, and scores each snapshot (``bench.judge``). Times are also given in steps of the float32
reference loop (``bench.reference``), timed at the same size in the same process. Writes to
``bench/results/<label>/``: a JSON per pair, ``summary.md`` (medians over pairs) and a contact sheet per pair.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import statistics
import time

from bench.common import (
    RESULTS,
    SET_HELP,
    SHARED_IMAGES,
    config_overrides,
    contact_sheet,
    find_image,
    machine,
    save_png,
    write_atomic,
    write_json,
)
from bench.judge import CONTENT_RATIO_LAYERS, Judge
from bench.pasted import NOVELTY_LIMIT, crop_2x, low_structure_box
from bench.reference import reference_step_seconds

CONTENTS = ("tubingen", "hoovertowernight")
STYLES = ("seated-nude", "the_scream", "starry_night", "shipwreck", "escher_sphere")
REFERENCE_STEPS = 5  # timed steps of the reference loop per pair (so a drifting load affects both alike)
WARMUP_EVALS = 2  # a short run before the timed one traces the step and prepares the style targets
SHEET_HEIGHT = 256  # contact-sheet tile height in pixels

# The earlier defaults, written out so that "--preset=old" stays what it is when the defaults change.
OLD_DEFAULTS = {
    "optimizer": "adam",
    "steps": 300,
    "content_weight": 1.0,
    "style_weight": 30.0,
    "tv_weight": 1.0,
    "learning_rate": 0.02,
    "content_layers": ("block4_conv2",),
    "style_layers": ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"),
    "style_layer_weights": None,
    "init": "content",
    "seed": 0,
    "style_scale": 1.0,
    "preserve_colors": "none",
    "weights": "embedded",
    "pooling": "max",
    "precision": "auto",
    "scales": 1,
}


# --- arguments ---


def old_defaults():
    """The earlier defaults as a ``StyleTransferConfig``."""
    from tf_nst.config import StyleTransferConfig

    return StyleTransferConfig(**OLD_DEFAULTS)


def make_config(preset: str, sets: dict, size: int, evals: list[int]):
    """The run's ``StyleTransferConfig``: the preset, the ``--set`` values, ``size`` and the largest evals."""
    from tf_nst.config import StyleTransferConfig

    base = old_defaults() if preset == "old" else StyleTransferConfig()
    return base.replace(**sets, max_size=size, steps=max(evals))


def resolve_pairs(spec: str | None, folder: pathlib.Path) -> list[tuple[str, str, pathlib.Path, pathlib.Path]]:
    """``(content, style, content path, style path)`` for ``spec`` ("photo:painting,...") or every shared pair;
    pairs whose images are missing are left out with a message."""
    wanted = (
        [tuple(p.split(":", 1)) for p in spec.split(",") if p] if spec else [(c, s) for c in CONTENTS for s in STYLES]
    )
    pairs = []
    for content, style in wanted:
        paths = find_image(folder, content), find_image(folder, style)
        missing = [name for name, path in zip((content, style), paths) if path is None]
        if missing:
            print(f"skipping {content}:{style}: {', '.join(missing)} not found in {folder}", flush=True)
        else:
            pairs.append((content, style, *paths))
    return pairs


# --- measuring ---


class _WarmedUp(Exception):
    """Ends the warm-up run from its progress callback."""


def run_pair(content_path, style_path, config, evals: list[int]) -> dict:
    """Stylize once up to ``max(evals)`` evaluations (after a short warm-up run), capturing the image at each
    count in ``evals`` and at the end: ``{"snapshots": [{evals, seconds, losses, image}], ...}``."""
    import numpy as np

    import tf_nst

    stylizer = tf_nst.Stylizer(str(style_path), config)
    started = time.perf_counter()

    def stop_warmup(progress):
        if progress.step >= WARMUP_EVALS:
            raise _WarmedUp

    try:
        stylizer(str(content_path), stop_warmup, report_every=1)
    except _WarmedUp:
        pass
    warmup = time.perf_counter() - started

    snapshots, pending = [], list(evals)
    counted = {"offset": 0, "scale": 1, "last": 0}

    def capture(progress):
        if progress.scale != counted["scale"]:  # coarse to fine: evaluations add up over the levels
            counted.update(offset=counted["offset"] + counted["last"], scale=progress.scale)
        counted["last"] = progress.step
        done = counted["offset"] + progress.step
        final = progress.scale == progress.scales and progress.step == progress.steps
        if (pending and done >= pending[0]) or final:
            while pending and done >= pending[0]:
                pending.pop(0)
            seconds = time.perf_counter() - started
            image = np.asarray(progress.image)[0]
            snapshots.append({"evals": done, "seconds": seconds, "losses": progress.losses, "image": image})

    started = time.perf_counter()
    stylizer(str(content_path), capture, report_every=1)
    return {"warmup_seconds": warmup, "precision": stylizer.precision.precision, "snapshots": snapshots}


def person_content_ratio(judge: Judge, result, photo, painting, mask) -> float:
    """The judge's content ratio inside ``mask`` (a person, ``[H, W]`` in [0, 1] at the photo's size): the
    masked squared distance of ``result``'s conv4_2 and conv5_2 features from the photo's, over the painting's
    (stretched to the photo's size), averaged over the two layers. All images ``[H, W, 3]`` in [0, 1]."""
    import numpy as np

    from tf_nst.io.images import resize

    size = (result.shape[1], result.shape[0])
    outputs = [judge.feature_maps(resize(x, size)) for x in (result, photo, painting)]
    ratios = []
    for layer in CONTENT_RATIO_LAYERS:
        mine, theirs, painted = (o[layer] for o in outputs)
        inside = resize(np.repeat(mask[..., None], 3, axis=-1), (mine.shape[1], mine.shape[0]))[..., 0] > 0.5
        ratios.append(np.sum(np.square(mine - theirs)[inside]) / np.sum(np.square(painted - theirs)[inside]))
    return float(np.mean(ratios))


# --- writing ---


def result_lines(snapshot: dict) -> list[str]:
    """Contact-sheet label of one scored snapshot."""
    scores = snapshot["scores"]
    multiple = f" ({snapshot['reference_steps']:.0f} ref)" if snapshot.get("reference_steps") else ""
    return (
        [
            f"{snapshot['evals']} evals, {snapshot['seconds']:.1f} s{multiple}",
            f"style SWD {scores['style_swd']['mean']:.3f}",
            f"content {scores['content_ratio']:.3f}",
        ]
        + (
            [f"pasted novelty {scores['novelty']:.2f}" + ("  FLAGGED" if scores["novelty"] > NOVELTY_LIMIT else "")]
            if "novelty" in scores
            else []
        )
        + ([f"person content {scores['person_content']:.3f}"] if "person_content" in scores else [])
    )


LAYER_TABLES = ("style_swd", "style_gauss", "gram", "gram_squared", "content", "gram_vs_painting", "content_vs_photo")
COLUMNS = (
    ("style SWD", lambda s: s["style_swd"]["mean"]),
    ("style Gauss", lambda s: s["style_gauss"]["mean"]),
    ("Gram", lambda s: s["gram"]["mean"]),
    ("Gram^2", lambda s: s["gram_squared"]["mean"]),
    ("content 4_2+5_2", lambda s: s["content_ratio"]),
    ("content 2-5", lambda s: s["content"]["mean"]),
    ("pasted novelty", lambda s: s.get("novelty", float("nan"))),
    ("person content", lambda s: s.get("person_content", float("nan"))),
)


def markdown(rows: list[dict], group_by: str | None = None) -> str:
    """Tables of scored ``rows`` (``name``, ``scores``, optional ``evals``, ``seconds``, ``reference_steps``):
    the mean-over-layers metrics with a median row per group, then per-layer tables of each metric."""
    timed = any("seconds" in row for row in rows)
    head = ["image"] + (["evals", "seconds", "ref steps"] if timed else []) + [name for name, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cells(row: dict) -> list[str]:
        timing = [str(row["evals"]), f"{row['seconds']:.1f}", f"{row.get('reference_steps') or 0:.0f}"] if timed else []
        return [row["name"]] + timing + [f"{get(row['scores']):.4f}" for _, get in COLUMNS]

    groups = {}
    for row in rows:
        groups.setdefault(row.get(group_by) if group_by else None, []).append(row)
    for key, members in groups.items():
        lines += ["| " + " | ".join(cells(row)) + " |" for row in members]
        if len(members) > 1:
            median = [statistics.median(get(r["scores"]) for r in members) for _, get in COLUMNS]
            timing = [str(key), f"{statistics.median(r['seconds'] for r in members):.1f}"] if timed else []
            if timed:
                timing.append(f"{statistics.median(r.get('reference_steps') or 0 for r in members):.0f}")
            lines.append("| **median** | " + " | ".join(timing + [f"**{m:.4f}**" for m in median]) + " |")
    for metric in LAYER_TABLES:
        layer_names = [k for k in rows[0]["scores"][metric] if k != "mean"]
        lines += ["", f"{metric} per layer:", ""]
        head = ["image"] + (["evals"] if timed else []) + [n.replace("block", "b") for n in layer_names] + ["mean"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            values = [f"{row['scores'][metric][n]:.4f}" for n in layer_names + ["mean"]]
            lines.append("| " + " | ".join([row["name"]] + ([str(row["evals"])] if timed else []) + values) + " |")
    return "\n".join(lines) + "\n"


# --- the two modes ---


def sources_for(image: pathlib.Path, content: pathlib.Path, style: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """The photo and painting that ``image`` is judged against: ``content`` and ``style`` if they are files;
    a folder gives the image in it named by the part of ``image``'s name (``<content>__<style>[__...].png``)
    before or after the first ``__``. ValueError if there is none."""
    stems = image.stem.split("__")
    sources = []
    for given, part in ((content, 0), (style, 1)):
        if given.is_dir():
            found = find_image(given, stems[part]) if len(stems) > 1 else None
            if found is None:
                raise ValueError(f"{image}: its name is not <content>__<style> of images in {given}")
            given = found
        sources.append(given)
    return sources[0], sources[1]


def benchmark(args, config, evals: list[int], out: pathlib.Path) -> None:
    """Run, judge and write every pair (see the module docstring)."""
    from tf_nst.errors import TfNstError
    from tf_nst.io.images import as_pixels, fit, resize, resized_size

    pairs = resolve_pairs(args.pairs, pathlib.Path(args.images))
    if not pairs:
        print(f"no image pairs to run (images are looked for in {args.images}); nothing done")
        return
    judge, rows = Judge(), []
    about = {"label": args.label, "preset": args.preset, "sets": args.set, "size": args.size, "evals": evals}
    about |= {"config": dataclasses.asdict(config), "machine": machine()}
    for content_name, style_name, content_path, style_path in pairs:
        pair = f"{content_name}__{style_name}"
        print(f"{pair}: running to {max(evals)} evaluations at {args.size} px", flush=True)
        try:
            run = run_pair(content_path, style_path, config, evals)
        except TfNstError as err:
            print(f"{pair}: failed: {err}", flush=True)
            write_json(out / f"{pair}.json", about | {"pair": pair, "error": str(err)})
            continue
        photo = fit(as_pixels(str(content_path)), args.size)[0]
        painting = as_pixels(str(style_path))
        style_pixels = resize(painting, resized_size(painting.shape[1], painting.shape[0], args.size))
        step = reference_step_seconds(photo[None], style_pixels[None], old_defaults(), REFERENCE_STEPS)
        reference = judge.reference(photo, painting, (photo.shape[1], photo.shape[0]))
        mask_path = content_path.with_name(f"{content_path.stem}_mask.png")  # a person's mask, where there is one
        mask = fit(as_pixels(str(mask_path)), args.size)[0][..., 0] if mask_path.is_file() else None
        for snapshot in run["snapshots"]:
            image = snapshot.pop("image")
            started = time.perf_counter()
            snapshot["scores"] = judge.score(image, reference)
            if snapshot is run["snapshots"][-1]:  # the final image, at the photo's size
                snapshot["scores"]["novelty"] = judge.novelty(image, photo)
                if mask is not None:
                    snapshot["scores"]["person_content"] = person_content_ratio(judge, image, photo, painting, mask)
            snapshot["judge_seconds"] = time.perf_counter() - started
            snapshot["reference_steps"] = snapshot["seconds"] / step
            snapshot["image_file"] = f"images/{pair}__e{snapshot['evals']}.png"
            save_png(image, out / snapshot["image_file"])
            snapshot["preview"] = image  # for the contact sheet only
            rows.append({"name": pair} | {k: v for k, v in snapshot.items() if k != "preview"})
            print(
                f"  {snapshot['evals']:5d} evals {snapshot['seconds']:7.1f} s ({snapshot['reference_steps']:.0f} ref "
                f"steps)  style SWD {snapshot['scores']['style_swd']['mean']:.3f}  Gram^2 "
                f"{snapshot['scores']['gram_squared']['mean']:.4f}  content {snapshot['scores']['content_ratio']:.3f}"
                f"  pasted novelty {snapshot['scores'].get('novelty', float('nan')):.2f}"
                f"  person content {snapshot['scores'].get('person_content', float('nan')):.3f}",
                flush=True,
            )
        tiles = [(photo, [f"content: {content_name}", f"{photo.shape[1]}x{photo.shape[0]}"])]
        tiles.append((style_pixels, [f"style: {style_name}"]))
        tiles += [(s.pop("preview"), result_lines(s)) for s in run["snapshots"]]
        box = low_structure_box(photo)  # where objects get pasted: its 2x crop, of the photo and the final result
        final = resize(tiles[-1][0], (photo.shape[1], photo.shape[0]))
        tiles += [(crop_2x(photo, box), ["photo, 2x crop of its", "least structured third"])]
        tiles += [(crop_2x(final, box), ["final result,", "the same crop"])]
        settings = " ".join(["preset", args.preset, *args.set])
        title = f"{args.label}: {settings}  ({run['precision']}; reference step {step:.3f} s)"
        save_png(contact_sheet([tiles], SHEET_HEIGHT, title, margin=8), out / f"{pair}.sheet.png")
        record = about | {"pair": pair, "content": str(content_path), "style": str(style_path)}
        record |= {"reference_step_seconds": step, "baseline": reference.baseline, "norms": reference.norms} | run
        write_json(out / f"{pair}.json", record)
    if rows:
        rows.sort(key=lambda r: (r["evals"], r["name"]))
        header = f"# {args.label}\n\n{' '.join(['preset', args.preset, *args.set])}, {args.size} px, config:\n\n"
        header += f"```\n{config}\n```\n\n"
        write_atomic(out / "summary.md", header + markdown(rows, "evals"))
        print(f"\nwrote {out}/summary.md, {len(pairs)} contact sheets and JSON")


def judge_images(args, out: pathlib.Path) -> None:
    """``--judge`` mode: score existing images; ``--content`` and ``--style`` are files, or folders in which
    an image named ``<content>__<style>[__...].png`` finds ``<content>.*`` and ``<style>.*``."""
    from tf_nst.errors import ImageError
    from tf_nst.io.images import as_pixels, resize

    if not args.content or not args.style:
        raise SystemExit("bench.quality: error: --judge needs --content and --style (files or folders)")
    judge, rows, references = Judge(), [], {}
    for name in args.judge:
        path = pathlib.Path(name)
        try:
            sources = sources_for(path, pathlib.Path(args.content), pathlib.Path(args.style))
            result = as_pixels(str(path))
            key = (*sources, result.shape)
            if key not in references:
                photo, painting = (as_pixels(str(s)) for s in sources)
                references[key] = judge.reference(photo, painting, (result.shape[1], result.shape[0]))
        except (ImageError, ValueError) as err:
            raise SystemExit(f"bench.quality: error: {err}") from None
        started = time.perf_counter()
        scores = judge.score(result, references[key])
        photo = resize(as_pixels(str(sources[0])), (result.shape[1], result.shape[0]))
        scores["novelty"] = judge.novelty(result, photo)
        seconds = time.perf_counter() - started
        rows.append({"name": path.name, "image": str(path), "content": str(sources[0]), "style": str(sources[1])})
        rows[-1] |= {"size": [result.shape[1], result.shape[0]], "judge_seconds": seconds, "scores": scores}
        rows[-1] |= {"baseline": references[key].baseline, "norms": references[key].norms}
        print(
            f"{path.name}: style SWD {scores['style_swd']['mean']:.3f}  Gram {scores['gram']['mean']:.4f}  Gram^2 "
            f"{scores['gram_squared']['mean']:.4f}  content {scores['content_ratio']:.3f}  pasted novelty "
            f"{scores['novelty']:.2f}{'  FLAGGED' if scores['novelty'] > NOVELTY_LIMIT else ''}  ({seconds:.1f} s)",
            flush=True,
        )
    table = markdown(rows)
    write_json(out / "judge.json", rows)
    write_atomic(out / "judge.md", table)
    print("\n" + table + f"\nwrote {out}/judge.json and judge.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="longest side of the results (256 for a quick run)")
    parser.add_argument("--evals", default="50,100,150,300", help="evaluation counts to snapshot and judge")
    parser.add_argument("--pairs", help="content:style,... by file stem (default: every shared pair)")
    parser.add_argument(
        "--preset",
        choices=("old", "default"),
        default="default",
        help="old: the earlier defaults (Adam, 300 steps, style_weight 30, ...), written out; default: today's",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    parser.add_argument("--label", help="results go to RESULTS/LABEL (default: PRESET-SIZE, or 'judge')")
    parser.add_argument("--results", default=str(RESULTS), help="folder of the labelled result folders")
    parser.add_argument("--images", default=str(SHARED_IMAGES), help="folder of the photos and paintings")
    parser.add_argument(
        "--judge", nargs="+", metavar="IMAGE", help="only score these images (needs --content, --style)"
    )
    parser.add_argument("--content", help="--judge: the photo, or a folder of photos")
    parser.add_argument("--style", help="--judge: the painting, or a folder of paintings")
    args = parser.parse_args()
    args.label = args.label or ("judge" if args.judge else f"{args.preset}-{args.size}")
    out = pathlib.Path(args.results) / args.label
    if args.judge:
        judge_images(args, out)
        return
    try:
        evals = sorted({int(e) for e in args.evals.split(",") if e})
        if not evals or evals[0] < 1:
            raise ValueError(f"--evals={args.evals}: expected positive counts")
        sets = config_overrides(args.set, reserved=("max_size", "steps"))
        config = make_config(args.preset, sets, args.size, evals)
    except ValueError as err:  # ConfigError is one
        parser.error(str(err))
    benchmark(args, config, evals, out)


if __name__ == "__main__":
    main()
