"""What the benchmarks share: where the shared images and the results are, the machine, config fields set from
the command line, measurements in a process of their own, contact sheets and atomic writes."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import json
import os
import pathlib
import platform
import subprocess
import sys
from collections.abc import Sequence

import numpy as np

from tf_nst.io.images import IMAGE_EXTENSIONS

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"  # not committed
# The shared photos and paintings: $TF_NST_SHARED_IMAGES, else the ``shared/images`` folder beside the checkout.
SHARED_IMAGES = pathlib.Path(os.environ.get("TF_NST_SHARED_IMAGES") or REPO.parent / "shared" / "images")
SHARED_VIDEO = SHARED_IMAGES.parent / "video"  # the shared clips, beside the shared images
SET_HELP = "a StyleTransferConfig field, e.g. style_weight=10 or style_layers=block1_conv1,block2_conv1 (repeatable)"

# --- images ---


def find_image(folder: pathlib.Path, stem: str) -> pathlib.Path | None:
    """``folder/stem.<ext>`` for the first of ``IMAGE_EXTENSIONS`` present, else None."""
    return next((folder / (stem + ext) for ext in IMAGE_EXTENSIONS if (folder / (stem + ext)).is_file()), None)


def shared_images(*stems: str, folder: pathlib.Path = SHARED_IMAGES) -> list[pathlib.Path] | None:
    """The images of ``folder`` named ``stems`` (file names without extension), or None if any is missing."""
    paths = [find_image(folder, stem) for stem in stems]
    return None if None in paths else paths


def demo_images() -> tuple[np.ndarray, np.ndarray]:
    """tf_nst's built-in demo photo and painting, uint8 ``[H, W, 3]``."""
    from tf_nst.io.demo import demo_content, demo_style

    return np.asarray(demo_content()), np.asarray(demo_style())


# --- the machine and its measurements ---


def machine() -> dict:
    """The CPU, its core count, TensorFlow's and Python's versions and the load average now."""
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "tensorflow": importlib.metadata.version("tensorflow"),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def vm_peak_bytes() -> int:
    """This process's peak resident memory (VmHWM) in bytes."""
    with open("/proc/self/status") as status:
        return next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")), 0)


def measure_apart(module: str, *args: str) -> dict:
    """``work(*args)`` of ``module`` in a fresh process (``python -m MODULE --worker ARGS``), so that its peak
    memory and tracing are its own: the JSON of its last output line. RuntimeError with its error output if it
    fails."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", module, "--worker", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=path),
    )
    if done.returncode:
        raise RuntimeError(f"{module} --worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- config fields from the command line ---


def _typed(text: str, annotation: str):
    """``text`` as a value of a field annotated ``annotation`` (e.g. ``"tuple[float, ...] | None"``): a tuple
    for a comma list, None for "none" where allowed, else a bool, int, float or str."""
    if text.lower() == "none" and "None" in annotation:
        return None
    if annotation.startswith("tuple"):
        item = float if "float" in annotation else int if "int" in annotation else str
        return tuple(item(v) for v in text.split(",") if v)
    if annotation.startswith("bool"):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"expected true or false, got {text}")
        return text.lower() in ("true", "1")
    if annotation.startswith("int"):
        return int(text)
    if annotation.startswith("float"):
        return float(text)
    return text


def config_overrides(items: Sequence[str], reserved: Sequence[str] = ()) -> dict:
    """``["key=value", ...]`` (``--set``) as ``StyleTransferConfig`` field values, typed from the fields;
    ValueError naming a bad item, or one setting a ``reserved`` field (one the script sets by a flag of its own)."""
    from tf_nst.config import StyleTransferConfig

    types = {field.name: str(field.type) for field in dataclasses.fields(StyleTransferConfig)}
    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or key not in types:
            raise ValueError(f"--set {item}: expected key=value with key one of {', '.join(types)}")
        if key in reserved:
            raise ValueError(f"--set {item}: this script sets {key} by a flag of its own")
        try:
            values[key] = _typed(text, types[key])
        except ValueError as err:
            raise ValueError(f"--set {item}: {err}") from None
    return values


# --- writing ---


def write_atomic(path: pathlib.Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (its folder made if need be) through a temporary file renamed over it."""
    from tf_nst.io.atomic import write_file

    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), data.encode() if isinstance(data, str) else data)


def write_json(path: pathlib.Path, value) -> None:
    """``value`` as indented JSON (numpy numbers as floats), atomically."""
    write_atomic(path, json.dumps(value, indent=1, default=float))


def picture(image):
    """A PIL image of ``image``: ``[H, W, 3]`` uint8 or float in [0, 1], or a PIL image already."""
    from PIL import Image

    from tf_nst.io.images import to_uint8

    if isinstance(image, Image.Image):
        return image
    pixels = np.asarray(image)
    return Image.fromarray(pixels if pixels.dtype == np.uint8 else to_uint8(pixels))


def save_png(image, path: pathlib.Path) -> None:
    """Save ``image`` (as ``picture`` takes it) as a PNG, atomically."""
    buffer = io.BytesIO()
    picture(image).save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())


Tile = tuple  # (image as ``picture`` takes it, caption lines)
LINE = 18  # pixels of a caption or title line


def contact_sheet(rows: Sequence[Sequence[Tile]], height: int, title: str = "", gap: int = 8, margin: int = 0):
    """A white PIL image: ``title`` above rows of tiles, each scaled to ``height`` px high (its aspect ratio
    kept) with its caption lines below it, ``gap`` px apart and ``margin`` px from the edges."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=14)
    scaled = [[picture(image) for image, _ in row] for row in rows]
    scaled = [[p.resize((round(p.width * height / p.height), height), Image.LANCZOS) for p in row] for row in scaled]
    captions = [max(len(lines) for _, lines in row) * LINE for row in rows]
    width = max(sum(p.width for p in row) + gap * (len(row) - 1) for row in scaled) + 2 * margin
    top = margin + (LINE + gap if title else 0)
    total = top + sum(height + caption for caption in captions) + gap * (len(rows) - 1) + margin
    sheet = Image.new("RGB", (width, total), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((margin, margin), title, fill="black", font=font)
    for row, pictures, caption in zip(rows, scaled, captions):
        x = margin
        for image, (_, lines) in zip(pictures, row):
            sheet.paste(image, (x, top))
            for i, text in enumerate(lines):
                draw.text((x, top + height + 2 + i * LINE), text, fill="black", font=font)
            x += image.width + gap
        top += height + caption + gap
    return sheet
