"""Video mode against independent per-frame stylization and against a warm start alone, in one run.

    python -m bench.video                                        # marple8 (450x350, 5 frames) and a pan/zoom clip
    python -m bench.video --clips=synthetic --frames=8 --size=256
    python -m bench.video --modes=video:1000:40,video:1000:20,noise:1000:40 --clips=marple8   # a sweep

Clips: ``marple8`` (``marple8/`` of the shared video folder: 5 frames with the reference DeepFlow flows between them and
their reliability masks) and ``synthetic``, a camera pan and zoom over a shared photo whose flow is known
exactly. Modes (``name:temporal_weight:frame_steps``): ``video`` (``tf_nst.stylize_video``), ``warm`` (the same
warm start from the warped previous result, with no temporal term), ``noise`` (video mode whose unreliable
pixels start from noise instead of the content frame) and ``independent`` (each frame an ordinary
``tf_nst.Stylizer`` run at the same settings, one compiled step shared).

Per mode it reports:

- **temporal error**: the mean over frames t >= 2 of the mean squared difference (pixels in [0, 1]) between the
  result of frame t and the result of frame t-1 warped onto t by the *reference* flow (DeepFlow's, or the exact
  one), over its reliable pixels: flow the method did not use;
- **judge ratios** of the middle and the last frame (``bench.judge``: ``style_swd`` mean and ``content_ratio``), and
  their median relative to the independent frame's (a single image's at the same settings);
- **seconds per frame**: the median over frames after the first (the first is a full stylization).

The photo and painting are the shared tubingen and starry_night unless given. Writes ``bench/results/<label>/``:
``summary.json``, ``summary.md``, and per clip a contact sheet (``<clip>-sheet.png``, one row per mode) and an
animated GIF (``<clip>.gif``, independent beside video mode).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import time

import numpy as np
from PIL import Image

from bench.common import (
    RESULTS,
    SET_HELP,
    SHARED_IMAGES,
    SHARED_VIDEO,
    config_overrides,
    contact_sheet,
    machine,
    save_png,
    write_atomic,
    write_json,
)
from bench.judge import Judge

MARPLE8 = SHARED_VIDEO / "marple8"
DEFAULT_MODES = "independent,warm:0:40,video:1000:40"
SHEET_HEIGHT = 160  # contact-sheet tile height


# --- the clips: frames, and the reference flow from each frame t to t-1 with its reliable pixels ---


def read_flo(path: pathlib.Path) -> np.ndarray:
    """A Middlebury ``.flo`` file as float32 ``[H, W, 2]`` (dx, dy)."""
    data = np.fromfile(path, np.float32)
    if data[0] != np.float32(202021.25):
        raise ValueError(f"{path}: not a .flo file")
    width, height = data[1:3].view(np.int32)
    return data[3 : 3 + width * height * 2].reshape(height, width, 2)


def marple8(folder: pathlib.Path = MARPLE8) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """The shared clip's frames (float32 ``[H, W, 3]``) and, per frame t >= 2, (flow t -> t-1, reliable mask)."""
    frames = [
        np.asarray(Image.open(folder / f"frame_{i:02d}.ppm").convert("RGB"), np.float32) / 255 for i in range(1, 6)
    ]
    flows = []
    for t in range(2, 6):
        mask = np.asarray(Image.open(folder / f"reliable_{t}_{t - 1}.pgm"), np.float32) / 255
        flows.append((read_flo(folder / f"backward_{t}_{t - 1}.flo"), mask > 0.5))
    return frames, flows


def camera(t: int, photo_size: tuple[int, int], size: tuple[int, int]) -> tuple[float, float, float]:
    """Frame ``t``'s view of a photo of ``photo_size``: its centre (x, y) in photo px and its zoom (photo px per
    frame px). It starts on 80% of the photo's width left of centre, pans right about 1.2% of a frame width
    and up 0.4% per frame, and zooms in 1% per frame."""
    start = 0.8 * photo_size[0] / size[0]
    zoom = start * 0.99**t
    return 0.42 * photo_size[0] + t * 0.012 * size[0] * start, 0.5 * photo_size[1] - t * 0.004 * size[0] * start, zoom


def synthetic(photo: np.ndarray, frames: int, size: tuple[int, int]):
    """A pan and zoom over ``photo`` (float ``[H, W, 3]``): ``frames`` frames of ``size`` (width, height) and
    the exact flow from each frame t to t-1 (pixel centres at i + 0.5; reliable where it stays inside)."""
    from tf_nst.io.images import resize, resized_size

    width, height = size
    photo = resize(photo, resized_size(photo.shape[1], photo.shape[0], round(width / 0.8)))  # zoom 1, then in
    picture = Image.fromarray((np.clip(photo, 0, 1) * 255 + 0.5).astype(np.uint8))

    def mapping(t):  # frame px -> photo px: p = zoom * (x - centre_frame) + centre_photo
        cx, cy, zoom = camera(t, (photo.shape[1], photo.shape[0]), size)
        return zoom, (cx - zoom * width / 2, cy - zoom * height / 2)

    clip, flows = [], []
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    for t in range(frames):
        zoom, (ox, oy) = mapping(t)
        data = (zoom, 0, ox, 0, zoom, oy)
        clip.append(np.asarray(picture.transform(size, Image.AFFINE, data, Image.BICUBIC), np.float32) / 255)
        if t:
            zoom0, (ox0, oy0) = mapping(t - 1)
            px, py = (zoom * x + ox - ox0) / zoom0, (zoom * y + oy - oy0) / zoom0
            flow = np.stack([px - x, py - y], axis=-1)
            inside = (px >= 0.5) & (px <= width - 0.5) & (py >= 0.5) & (py <= height - 0.5)
            flows.append((flow.astype(np.float32), inside))
    return clip, flows


# --- measuring ---


def temporal_errors(results: list[np.ndarray], flows) -> list[float]:
    """Per frame t >= 2: mean squared difference of result t and result t-1 warped by the reference flow,
    over the reliable pixels."""
    from tf_nst.flow import warp

    errors = []
    for t, (flow, mask) in enumerate(flows, 1):
        difference = (results[t] - warp(results[t - 1], flow)) ** 2
        errors.append(float(np.mean(difference[mask])))
    return errors


def parse_mode(text: str) -> tuple[str, float, int]:
    name, *rest = text.split(":")
    if name == "independent":
        return name, 0.0, 0
    weight, steps = float(rest[0]), int(rest[1])
    return name, weight, steps


def run_mode(
    mode: tuple[str, float, int], frames, painting, config, first=None
) -> tuple[list[np.ndarray], list[float]]:
    """The results of one mode on ``frames`` and the seconds each frame took. ``first``: (result, seconds) of
    the first frame when already made (every mode's first frame is the same ordinary stylization)."""
    import tf_nst
    from tf_nst.video import VideoOptions

    name, weight, steps = mode
    results, seconds, start = [], [], time.perf_counter()
    if name == "independent":
        stylizer = tf_nst.Stylizer(painting, config)
        source = (stylizer(frame) for frame in frames)
    else:
        options = VideoOptions(weight, steps, "noise" if name == "noise" else "content")
        resume = None
        if first is not None:
            results, seconds, resume, frames = [first[0]], [first[1]], (frames[0], first[0]), frames[1:]
        source = tf_nst.stylize_video(frames, painting, config, options, resume_from=resume)
    for result in source:
        results.append(np.asarray(result)[0])
        seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
    return results, seconds


def judged(count: int) -> list[int]:
    """The frames judged (0-based): the middle one and the last (judging is slow on a busy 2-core machine)."""
    return sorted({count // 2, count - 1})


def judge_frames(judge: Judge, results, frames, painting, references: dict) -> list[dict]:
    """Judge ratios of the ``judged`` frames; ``references`` caches each frame's reference across modes."""
    scores = []
    for index in judged(len(results)):
        result = results[index]
        if index not in references:
            references[index] = judge.reference(frames[index], painting, (result.shape[1], result.shape[0]))
        score = judge.score(result, references[index])
        scores.append({"style_swd": score["style_swd"]["mean"], "content_ratio": score["content_ratio"]})
    return scores


# --- pictures ---


def side_by_side_gif(path: pathlib.Path, left: list[np.ndarray], right: list[np.ndarray], fps: float) -> None:
    """An animated GIF (or any format ``VideoFile`` writes) of ``left`` and ``right`` frames (float ``[H, W, 3]``
    in [0, 1]) side by side, 4 white pixels apart."""
    from tf_nst.io.video import VideoFile

    writer = VideoFile(str(path), fps)
    for a, b in zip(left, right):
        writer.write(np.concatenate([a, np.ones((a.shape[0], 4, 3), np.float32), b], axis=1))
    writer.close()


# --- the run ---


def bench_clip(name, frames, flows, painting, config, modes, judge, out) -> dict:
    print(f"{name}: {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}", flush=True)
    rows, outputs, first, references = {}, {}, None, {}
    for mode in modes:
        label = mode[0] if mode[0] == "independent" else f"{mode[0]} w={mode[1]:g} n={mode[2]}"
        cache = out / f"{name}-{label.replace(' ', '_')}.npz"
        if cache.exists():  # a rerun with the same --label: results of the same settings do not change
            saved = np.load(cache)
            results, seconds = list(saved["results"]), list(saved["seconds"])
        else:
            results, seconds = run_mode(mode, frames, painting, config, first)
            np.savez(cache, results=np.stack(results), seconds=np.array(seconds))
        first = first or (results[0], seconds[0])
        errors = temporal_errors(results, flows)
        rows[label] = {
            "temporal_error": float(np.mean(errors)),
            "temporal_errors": errors,
            "seconds": seconds,
            "seconds_later": statistics.median(seconds[1:]),
            "scores": judge_frames(judge, results, frames, painting, references),  # frames are at the results' size
        }
        outputs[label] = results
        print(
            f"  {label}: temporal error {rows[label]['temporal_error']:.5f}, "
            f"{rows[label]['seconds_later']:.2f} s/frame after the first, first {seconds[0]:.1f} s",
            flush=True,
        )
    independent = rows.get("independent")
    for row in rows.values():
        if independent:
            row["temporal_vs_independent"] = row["temporal_error"] / independent["temporal_error"]
            row["seconds_vs_independent"] = row["seconds_later"] / independent["seconds_later"]
            for key in ("style_swd", "content_ratio"):
                ratios = [a[key] / b[key] for a, b in zip(row["scores"], independent["scores"])]
                row[f"{key}_vs_independent"] = statistics.median(ratios)
        for key in ("style_swd", "content_ratio"):
            row[f"{key}_median"] = statistics.median(s[key] for s in row["scores"])
    rows_of_frames = [
        [(image, [label] if i == 0 else []) for i, image in enumerate(images)] for label, images in outputs.items()
    ]
    sheet = contact_sheet(rows_of_frames, SHEET_HEIGHT, f"{name}: rows are modes, columns frames", gap=4, margin=4)
    save_png(sheet, out / f"{name}-sheet.png")
    video_label = next((label for label in outputs if label.startswith("video")), None)
    if independent and video_label:
        side_by_side_gif(out / f"{name}.gif", outputs["independent"], outputs[video_label], 8)
    return rows


def markdown(results: dict) -> str:
    lines = [
        "| clip | mode | temporal error | vs independent | s/frame after 1st | vs independent | style_swd | "
        "content_ratio | style vs indep. | content vs indep. |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clip, rows in results.items():
        for label, r in rows.items():
            lines.append(
                f"| {clip} | {label} | {r['temporal_error']:.5f} | {r.get('temporal_vs_independent', 1):.2f} "
                f"| {r['seconds_later']:.2f} | {r.get('seconds_vs_independent', 1):.2f} | {r['style_swd_median']:.3f} "
                f"| {r['content_ratio_median']:.3f} | {r.get('style_swd_vs_independent', 1):.3f} "
                f"| {r.get('content_ratio_vs_independent', 1):.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default="marple8,synthetic")
    parser.add_argument("--modes", default=DEFAULT_MODES)
    parser.add_argument("--size", type=int, default=256, help="longest side of the synthetic clip")
    parser.add_argument("--frames", type=int, default=10, help="frames of the synthetic clip")
    parser.add_argument("--photo", default=str(SHARED_IMAGES / "tubingen.jpg"), help="of the synthetic clip")
    parser.add_argument("--style", default=str(SHARED_IMAGES / "starry_night.jpg"))
    parser.add_argument("--label", default="video")
    parser.add_argument("--results", default=str(RESULTS), help="folder of the labelled result folders")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    args = parser.parse_args()
    try:
        overrides = config_overrides(args.set, reserved=("max_size",))
    except ValueError as err:
        parser.error(str(err))

    import tf_nst
    from tf_nst.io.images import read_image

    if not pathlib.Path(args.style).is_file():
        print(f"nothing done: the painting {args.style} is not there")
        return
    out = pathlib.Path(args.results) / args.label
    out.mkdir(parents=True, exist_ok=True)
    painting = read_image(args.style)
    modes = [parse_mode(m) for m in args.modes.split(",")]
    judge, results, started = Judge(), {}, time.time()
    info = machine()
    for clip in args.clips.split(","):
        if clip == "marple8":
            if not MARPLE8.is_dir():
                print(f"skipping marple8: {MARPLE8} is not there")
                continue
            frames, flows = marple8()
            side = max(frames[0].shape[:2])  # the clip's own size, so the reference flows apply as they are
        else:
            if not pathlib.Path(args.photo).is_file():
                print(f"skipping synthetic: the photo {args.photo} is not there")
                continue
            frames, flows = synthetic(read_image(args.photo), args.frames, (args.size, round(args.size * 3 / 4)))
            side = args.size
        config = tf_nst.StyleTransferConfig(**overrides, max_size=side)
        results[clip] = bench_clip(clip, frames, flows, painting, config, modes, judge, out)
    table = markdown(results)
    info["seconds"] = round(time.time() - started)
    write_json(out / "summary.json", {"machine": info, "args": vars(args), "results": results})
    write_atomic(out / "summary.md", table + "\n")
    print("\n" + table + f"\n\nmachine: {info}\nwrote {out}")


if __name__ == "__main__":
    main()
