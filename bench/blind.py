"""A blind side-by-side check of two methods: each pair's two results beside the photo and the painting, left
and right shuffled by a seed, the key kept apart. Judge every sheet before opening the key, then tally.

    python -m bench.blind make bench/results/old-512 bench/results/new-512 --out=bench/results/blind-old-new
    (judge sheet_01.png, sheet_02.png, ... and fill verdicts.json; do not open key/)
    python -m bench.blind tally bench/results/blind-old-new

``make`` takes two result folders, A and B, of images named ``<photo>__<painting>[__<more>].png``: what
``bench.quality`` writes to ``<label>/images/`` (``<photo>__<painting>__e<evals>.png``; a label folder is looked
into for its ``images/``) or what the command line was told to write. A folder with several images of a pair
gives the one of ``--evals`` (default: the most evaluations, the final image). For every pair in both folders
whose photo and painting are among the shared images it writes ``sheet_NN.png``: the photo (small), the painting,
then the "left" and the "right" result, each at its own full size (zoom in to judge), labelled with nothing but
the sheet number, "left" and "right". ``random.Random(seed)`` draws which method is on the left, sheet by sheet.
The key (sheet -> pair, which method is left and right, the two folders) goes to ``key/key.json``, and
``verdicts.json`` is the form to fill: ``"left"``, ``"right"`` or ``"equal"`` per sheet, optionally followed by
``": a note"`` (or ``{"verdict": "left", "note": "..."}``).

``tally`` refuses a verdict that is missing or not one of those three, then prints and writes ``tally.json``:
each method's wins, the equals, and per sheet the pair, the winner and the note.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import re
import sys

from bench.common import SHARED_IMAGES, find_image, save_png, write_json

VERDICTS = ("left", "right", "equal")
METHODS = ("A", "B")
PHOTO_HEIGHT = 192  # the photo's tile height at most: it is there to recognise the scene, not to judge
MARGIN = 8  # pixels around the sheet
GAP = 8  # pixels between the title and the tiles, and between tiles
LINE = 18  # pixels of the title and of a caption
EVALS = re.compile(r"e(\d+)")  # bench.quality's snapshot suffix


class Refused(Exception):
    """A one-line reason to stop (exit status 2)."""


# --- finding the results ---


def result_folder(folder: pathlib.Path) -> pathlib.Path:
    """``folder``, or its ``images/`` if it has one and no result images of its own (a bench.quality label)."""
    if not folder.is_dir():
        raise Refused(f"{folder}: not a folder")
    if not any(folder.glob("*__*.png")) and (folder / "images").is_dir():
        return folder / "images"
    return folder


def results(folder: pathlib.Path, evals: int | None) -> dict[str, pathlib.Path]:
    """``{"<photo>__<painting>": image}`` of ``folder``'s ``*__*.png``: for a pair with several images, the one
    suffixed ``__e<evals>``, or without ``evals`` the one with the most evaluations."""
    found: dict[str, list[pathlib.Path]] = {}
    for path in sorted(folder.glob("*__*.png")):
        parts = path.stem.split("__")
        found.setdefault("__".join(parts[:2]), []).append(path)
    chosen = {}
    for pair, paths in found.items():
        counts = {}
        for path in paths:
            suffix = EVALS.fullmatch(path.stem.split("__", 2)[2]) if path.stem.count("__") == 2 else None
            if suffix:
                counts[int(suffix.group(1))] = path
        if evals is not None:
            if evals in counts:
                chosen[pair] = counts[evals]
            continue  # this pair has no image of that many evaluations
        if len(paths) == 1:
            chosen[pair] = paths[0]
        elif len(counts) == len(paths):
            chosen[pair] = counts[max(counts)]
        else:
            names = ", ".join(p.name for p in paths)
            raise Refused(f"{folder}: several images of {pair} ({names}); keep one, or name them __e<evals>")
    return chosen


def method_name(folder: pathlib.Path) -> str:
    """A folder's name for the key and the tally: a label folder's name rather than ``images``."""
    folder = folder.resolve()
    return folder.parent.name if folder.name == "images" else folder.name


# --- the sheet ---


def load_rgb(path: pathlib.Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


def sheet(number: str, photo, painting, left, right):
    """A white PIL image: the title ``sheet <number>``, then, top-aligned in a row, the photo (at most
    ``PHOTO_HEIGHT`` high), the painting (as high as the taller result) and the two results at their own size,
    captioned "photo", "painting", "left" and "right"."""
    from PIL import Image, ImageDraw, ImageFont

    def scaled(image, height: int):
        return image.resize((max(1, round(image.width * height / image.height)), height), Image.LANCZOS)

    height = max(left.height, right.height)
    tiles = [
        (scaled(photo, min(PHOTO_HEIGHT, height)), "photo"),
        (scaled(painting, height), "painting"),
        (left, "left"),
        (right, "right"),
    ]
    width = 2 * MARGIN + sum(tile.width for tile, _ in tiles) + GAP * (len(tiles) - 1)
    top = MARGIN + LINE + GAP
    canvas = Image.new("RGB", (width, top + height + LINE + MARGIN), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    draw.text((MARGIN, MARGIN), f"sheet {number}", fill="black", font=font)
    x = MARGIN
    for tile, caption in tiles:
        canvas.paste(tile, (x, top))
        draw.text((x, top + tile.height + 2), caption, fill="black", font=font)
        x += tile.width + GAP
    return canvas


# --- the two modes ---


def make(args) -> None:
    """Write the sheets, ``verdicts.json`` and ``key/key.json`` (see the module docstring)."""
    folders = [result_folder(pathlib.Path(f)) for f in (args.a, args.b)]
    found = [results(folder, args.evals) for folder in folders]
    out, images = pathlib.Path(args.out), pathlib.Path(args.images)
    key_file = out / "key" / "key.json"
    if key_file.exists() and not args.overwrite:
        raise Refused(f"{out} already holds a blind check (its key); judge it, or pass --overwrite")
    for method, folder, mine, theirs in zip(METHODS, folders, found, found[::-1]):
        alone = sorted(set(mine) - set(theirs))
        if alone:
            print(f"only in {method} ({folder}), left out: {', '.join(alone)}")
    pairs = []
    for pair in sorted(set(found[0]) & set(found[1])):
        sources = [find_image(images, stem) for stem in pair.split("__")]
        if None in sources:
            print(f"skipping {pair}: its photo or painting is not in {images}")
        else:
            pairs.append((pair, *sources))
    if not pairs:
        raise Refused(f"no pair has a result in both {folders[0]} and {folders[1]} and its images in {images}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    draw = random.Random(seed)
    digits = max(2, len(str(len(pairs))))
    if args.overwrite:  # the earlier check's files, so that none of its sheets is left among the new
        for old in [*out.glob("sheet_*.png"), out / "verdicts.json", out / "tally.json", key_file]:
            old.unlink(missing_ok=True)
    key = {
        "seed": seed,
        "methods": {m: {"name": method_name(f), "folder": str(f)} for m, f in zip(METHODS, folders)},
        "sheets": {},
    }
    for index, (pair, photo_path, painting_path) in enumerate(pairs, 1):
        number = f"{index:0{digits}d}"
        name = f"sheet_{number}"
        order = ("A", "B") if draw.random() < 0.5 else ("B", "A")
        paths = {m: found[METHODS.index(m)][pair] for m in METHODS}
        left, right = (load_rgb(paths[m]) for m in order)
        if left.size != right.size:
            print(f"{name}: the results' sizes differ ({left.width}x{left.height}, {right.width}x{right.height})")
        save_png(sheet(number, load_rgb(photo_path), load_rgb(painting_path), left, right), out / f"{name}.png")
        key["sheets"][name] = {"pair": pair, "left": order[0], "right": order[1]}
        key["sheets"][name] |= {"left_image": str(paths[order[0]]), "right_image": str(paths[order[1]])}
    write_json(key_file, key)
    write_json(out / "verdicts.json", {name: None for name in key["sheets"]})
    print(
        f"wrote {len(pairs)} sheets to {out}; fill {out / 'verdicts.json'} with left, right or equal per sheet "
        f"(optionally 'left: why'), without opening {key_file.parent}/, then: python -m bench.blind tally {out}"
    )


def parse_verdict(name: str, value) -> tuple[str, str]:
    """``(verdict, note)`` of a filled ``value``: ``"left"``, ``"left: note"`` or ``{"verdict", "note"}``."""
    if isinstance(value, dict):
        verdict, note = value.get("verdict"), value.get("note") or ""
    elif isinstance(value, str):
        verdict, _, note = value.partition(":")
    else:
        verdict, note = value, ""
    verdict = verdict.strip().lower() if isinstance(verdict, str) else verdict
    if verdict not in VERDICTS:
        raise Refused(f"{name}: verdict {value!r} is not one of {', '.join(VERDICTS)}")
    return verdict, str(note).strip()


def tally(args) -> None:
    """Check every verdict, then count them against the key and write ``tally.json``."""
    folder = pathlib.Path(args.folder)
    verdicts_file, key_file = folder / "verdicts.json", folder / "key" / "key.json"
    for path in (verdicts_file, key_file):
        if not path.is_file():
            raise Refused(f"{path}: not found (make the sheets with: python -m bench.blind make)")
    verdicts, key = json.loads(verdicts_file.read_text()), json.loads(key_file.read_text())
    missing = [name for name in key["sheets"] if verdicts.get(name) in (None, "")]
    if missing:
        raise Refused(f"no verdict for {', '.join(missing)} in {verdicts_file}: judge every sheet first")
    unknown = sorted(set(verdicts) - set(key["sheets"]))
    if unknown:
        raise Refused(f"{verdicts_file} judges sheets the key does not have: {', '.join(unknown)}")
    parsed = {name: parse_verdict(name, verdicts[name]) for name in key["sheets"]}  # all checked before counting
    methods = {m: key["methods"][m] | {"wins": 0} for m in METHODS}
    equal, sheets = 0, {}
    for name, (verdict, note) in parsed.items():
        entry = key["sheets"][name]
        winner = entry[verdict] if verdict != "equal" else None
        if winner:
            methods[winner]["wins"] += 1
        else:
            equal += 1
        sheets[name] = {"pair": entry["pair"], "verdict": verdict, "winner": winner}
        sheets[name] |= {"winner_name": methods[winner]["name"] if winner else "equal", "note": note}
    result = {"sheets_judged": len(sheets), "methods": methods, "equal": equal, "seed": key["seed"], "sheets": sheets}
    write_json(folder / "tally.json", result)
    for name, entry in sheets.items():
        print(f"{name}  {entry['pair']:40s}  {entry['winner_name']:20s}  {entry['note']}".rstrip())
    counts = ", ".join(f"{m} {methods[m]['name']}: {methods[m]['wins']} wins" for m in METHODS)
    print(f"\n{counts}, equal: {equal} (of {len(sheets)} sheets); wrote {folder / 'tally.json'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.blind", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    made = modes.add_parser("make", help="the sheets, the verdicts form and the key, from two result folders")
    made.add_argument("a", help="method A's results: <photo>__<painting>[__...].png (a bench.quality label folder)")
    made.add_argument("b", help="method B's results, named alike")
    made.add_argument("--out", required=True, help="the folder of the sheets (the key goes to its key/)")
    made.add_argument("--seed", type=int, help="draws left and right per sheet (default: a random one, in the key)")
    made.add_argument("--evals", type=int, help="of several images per pair, the one suffixed __e<EVALS>")
    made.add_argument("--images", default=str(SHARED_IMAGES), help="folder of the photos and paintings")
    made.add_argument("--overwrite", action="store_true", help="replace an earlier check in --out")
    counted = modes.add_parser("tally", help="count the filled verdicts.json against key/key.json")
    counted.add_argument("folder", help="the folder make wrote")
    args = parser.parse_args(argv)
    try:
        make(args) if args.mode == "make" else tally(args)
    except Refused as err:
        print(f"bench.blind {args.mode}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except json.JSONDecodeError as err:
        print(f"bench.blind {args.mode}: error: a JSON file does not read: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
