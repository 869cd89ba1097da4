"""Video mode: the temporal term, video files in and out, and every bad clip or output through the command.

Needs the ``[video]`` extra (OpenCV, PyAV); skipped without it. Command-line cases run the command in-process
(``tf_nst.cli.main``) except the signal test, which needs a process to signal.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import QUICK_RUN, REPO, SHALLOW, SHALLOW_LAYERS, gradient_image, one_line_error, run_command
from PIL import Image

pytest.importorskip("cv2")
pytest.importorskip("av")

from tf_nst.config import StyleTransferConfig  # noqa: E402
from tf_nst.flow import warp  # noqa: E402
from tf_nst.io.demo import demo_content, demo_style  # noqa: E402
from tf_nst.io.video import FrameDirectory, VideoFile, open_frames, open_video  # noqa: E402
from tf_nst.video import VideoOptions, stylize_video  # noqa: E402

PAN = 2.0  # px per frame


def pan_clip(frames: int = 6, width: int = 64, height: int = 48) -> list[np.ndarray]:
    """A camera panning ``PAN`` px right per frame over the demo town: frame t (x) = town(x + PAN t)."""
    town = np.asarray(demo_content(width + 40, height + 10), np.float32) / 255
    clip = []
    for t in range(frames):
        flow = np.zeros(town.shape[:2] + (2,), np.float32)
        flow[..., 0] = PAN * t
        clip.append(warp(town, flow)[5 : 5 + height, :width])
    return clip


def warped_change(results: list[np.ndarray]) -> float:
    """Mean squared difference of each result to the one before it moved by the known pan (inner pixels)."""
    flow = np.zeros(results[0].shape[:2] + (2,), np.float32)
    flow[..., 0] = PAN  # frame t (x) = frame t-1 (x + PAN)
    changes = [np.mean((b - warp(a, flow))[4:-4, 4:-8] ** 2) for a, b in zip(results, results[1:])]
    return float(np.mean(changes))


def test_the_temporal_term_lowers_frame_to_frame_change(shallow_model):
    clip, style = pan_clip(4), np.asarray(demo_style(48, 48))
    config = StyleTransferConfig(max_size=64, steps=4, scales=1, **SHALLOW)
    changes = {}
    for weight in (0.0, 3000.0):
        results = stylize_video(clip, style, config, VideoOptions(weight, frame_steps=3), model=shallow_model)
        results = [np.asarray(r)[0] for r in results]
        assert len(results) == 4 and all(r.shape == (48, 64, 3) for r in results)
        changes[weight] = warped_change(results)
    assert changes[3000.0] < 0.3 * changes[0.0], changes


def test_stylize_video_streams_frames_as_they_are_made(shallow_model):
    """The generator reads a frame only when the result before it was taken."""
    read = []

    def frames():
        for index, frame in enumerate(pan_clip(3)):
            read.append(index)
            yield frame

    results = stylize_video(
        frames(),
        np.asarray(demo_style(48, 48)),
        StyleTransferConfig(max_size=64, steps=2, **SHALLOW),
        VideoOptions(frame_steps=2),
        model=shallow_model,
    )
    next(results)
    assert read == [0]
    assert len(list(results)) == 2 and read == [0, 1, 2]


@pytest.mark.parametrize("extension", [".mp4", ".webm", ".gif"])
def test_video_file_round_trip_keeps_frame_count_rate_and_size(tmp_path, extension):
    path = str(tmp_path / f"clip{extension}")
    rate = 10 if extension == ".gif" else 12  # GIF delays are whole 1/100 s
    writer = VideoFile(path, rate)
    for frame in pan_clip(7, 64, 48):
        writer.write(frame)
    assert not os.path.exists(path)  # not before close
    writer.close()
    clip = open_video(path)
    assert (clip.count, clip.rate, clip.size) == (7, rate, (64, 48))
    frames = list(clip.frames())
    assert len(frames) == 7 and frames[3].shape == (48, 64, 3)
    assert np.mean(np.abs(frames[3] - pan_clip(7, 64, 48)[3])) < 0.06  # lossy, but the same picture
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_odd_sizes_are_padded_for_the_encoder(tmp_path):
    path = str(tmp_path / "odd.mp4")
    writer = VideoFile(path, 25)
    for frame in pan_clip(2, 63, 47):
        writer.write(frame)
    writer.close()
    assert open_video(path).size == (64, 48)


def test_frames_of_a_directory_in_name_order(tmp_path):
    for index, frame in enumerate(pan_clip(3), 1):
        FrameDirectory(str(tmp_path)).write(frame, index)
    clip = open_frames(str(tmp_path / "frame_*.png"))
    assert (
        clip.count == 3
        and clip.size == (64, 48)
        and [os.path.basename(p) for p in clip.paths]
        == [
            "frame_00001.png",
            "frame_00002.png",
            "frame_00003.png",
        ]
    )


# --- the command, in-process (``conftest.run_command``) ---


FAST = [*QUICK_RUN, "--frame_steps=2"]


@pytest.fixture
def clip_files(tmp_path):
    """A 5-frame animated GIF (64x48, 10 fps) and a style PNG."""
    gif, style = tmp_path / "clip.gif", tmp_path / "style.png"
    frames = [Image.fromarray((f * 255 + 0.5).astype(np.uint8)) for f in pan_clip(5)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(gradient_image(48, 48, 2)).save(style)
    return gif, style


def test_an_animated_gif_becomes_an_mp4_at_its_frame_rate(clip_files, tmp_path):
    gif, style = clip_files
    output = tmp_path / "out.mp4"
    result = run_command(f"--content={gif}", f"--style={style}", f"--output={output}", *FAST)
    assert result.returncode == 0, result.stderr
    clip = open_video(str(output))
    assert (clip.count, clip.rate, clip.size) == (5, 10, (48, 36))
    assert "frame 3/5  clip ETA" in result.stderr and "wrote frame 5/5" in result.stderr


def test_a_clip_of_odd_height_keeps_clean_bottom_rows_in_the_video_file(tmp_path):
    gif, style = tmp_path / "odd.gif", tmp_path / "style.png"
    frames = [Image.fromarray((f * 255 + 0.5).astype(np.uint8)) for f in pan_clip(4, 64, 47)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.fromarray(gradient_image(48, 48, 2)).save(style)
    flags = [f"--content={gif}", f"--style={style}", "--max_size=64", "--seed=3", *FAST[1:]]
    for output in ("out.mp4", "frames"):
        assert run_command(*flags, f"--output={tmp_path / output}").returncode == 0
    encoded = list(open_video(str(tmp_path / "out.mp4")).frames())
    written = [
        np.asarray(Image.open(tmp_path / "frames" / f"frame_{n:05d}.png"), np.float32) / 255 for n in (1, 2, 3, 4)
    ]
    assert written[0].shape == (47, 64, 3) and encoded[0].shape == (48, 64, 3)  # one edge row repeated for 4:2:0
    for video, frame in zip(encoded, written):
        assert np.abs(video[44:47] - frame[44:47]).mean() < 0.05  # the last rows are the frame's, not noise
        assert np.abs(video[47] - frame[46]).mean() < 0.05  # and the added row repeats the last one
        bottom = np.abs(np.diff(frame[-4:], axis=0)).mean()
        assert bottom < 3 * np.abs(np.diff(frame[8:-8], axis=0)).mean()  # no strip of other colours at the edge


def test_the_clip_estimate_uses_the_first_frames_speed_then_the_later_frames_times():
    from tf_nst.cli.video import ClipClock
    from tf_nst.transfer import Progress

    clock = ClipClock(total=5, frame_steps=20)
    assert clock.eta() == "clip ETA after frame 1  "  # nothing measured yet, and it says so
    last = Progress(step=40, steps=40, losses={}, steps_per_second=2.0, elapsed=20.0, image=None)
    clock.add(60.0, last)  # the first frame: a whole stylization, at 0.5 s per evaluation at full size
    assert clock.eta() == "clip ETA ~00:42  "  # 4 later frames of (20 + 1) evaluations at 0.5 s, not 4 x 60 s
    clock.add(12.0)
    assert clock.eta() == "clip ETA 00:36  "  # 3 more at the 12 s measured


def test_a_frame_range_into_a_directory_then_resume(clip_files, tmp_path):
    gif, style = clip_files
    out = tmp_path / "frames"
    result = run_command(f"--content={gif}", f"--style={style}", f"--output={out}", "--frames=2:3", *FAST)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["frame_00002.png", "frame_00003.png"]
    before = os.path.getmtime(out / "frame_00003.png")
    result = run_command(f"--content={gif}", f"--style={style}", f"--output={out}", "--frames=2:", "--resume", *FAST)
    assert result.returncode == 0, result.stderr
    assert "resuming after frame 3" in result.stderr
    assert sorted(os.listdir(out)) == [f"frame_{n:05d}.png" for n in range(2, 6)]
    assert os.path.getmtime(out / "frame_00003.png") == before
    assert Image.open(out / "frame_00005.png").size == (48, 36)


def frame_dir(tmp_path, sizes, corrupt=None) -> str:
    directory = tmp_path / "frames"
    directory.mkdir()
    for index, (width, height) in enumerate(sizes, 1):
        Image.fromarray(gradient_image(width, height, index)).save(directory / f"f{index:02d}.png")
    if corrupt:
        (directory / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return str(directory)


def empty_video(tmp_path) -> str:
    import av

    path = str(tmp_path / "empty.mp4")
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


def write_bytes(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# (name, content maker, extra flags, output name, exit status, fragments of the error line)
BAD_CLIPS = [
    (
        "not a video",
        lambda d: str(d / "notes.mp4") if (d / "notes.mp4").write_text("hello") else "",
        [],
        "o.mp4",
        1,
        ["notes.mp4", "not a video"],
    ),
    ("no frames", empty_video, [], "o.mp4", 1, ["empty.mp4", "no frames"]),
    ("an empty gif", lambda d: write_bytes(d / "empty.gif", b""), [], "o.mp4", 1, ["empty.gif", "the file is empty"]),
    (
        "a gif of one frame",
        lambda d: Image.fromarray(gradient_image(64, 48)).save(d / "one.gif") or str(d / "one.gif"),
        [],
        "o.mp4",
        2,
        ["--output=", "one.gif is read as a still image (a GIF of one frame)"],
    ),
    ("missing", lambda d: str(d / "missing.mov"), [], "o.mp4", 1, ["missing.mov", "no such file"]),
    (
        "empty directory",
        lambda d: (d / "frames").mkdir() or str(d / "frames"),
        ["--video"],
        "o.mp4",
        2,
        ["no frame files"],
    ),
    (
        "mixed sizes",
        lambda d: frame_dir(d, [(64, 48), (64, 48), (48, 64)]),
        ["--video"],
        "o.mp4",
        1,
        ["f03.png", "48x64", "one size"],
    ),
    ("unreadable frame", lambda d: frame_dir(d, [(64, 48), (64, 48)], "f03.png"), ["--video"], "o.mp4", 1, ["f03.png"]),
    (
        "output extension",
        lambda d: frame_dir(d, [(64, 48)] * 2),
        ["--video"],
        "o.avi",
        2,
        ["unsupported output extension '.avi'"],
    ),
    ("image output", lambda d: frame_dir(d, [(64, 48)] * 2), ["--video"], "o.png", 2, ["'.png'"]),
    ("bad range", lambda d: frame_dir(d, [(64, 48)] * 2), ["--video", "--frames=5"], "o.mp4", 2, ["--frames=5"]),
    (
        "range past the end",
        lambda d: frame_dir(d, [(64, 48)] * 2),
        ["--video", "--frames=3:"],
        "o.mp4",
        2,
        ["has 2 frames"],
    ),
    ("resume a file", lambda d: frame_dir(d, [(64, 48)] * 2), ["--video", "--resume"], "o.mp4", 2, ["--resume"]),
    (
        "frames of no clip",
        lambda d: frame_dir(d, [(64, 48)] * 2) + "/f01.png",
        ["--frames=1:2"],
        "o.png",
        2,
        ["--frames"],
    ),
]


@pytest.mark.parametrize(
    "make, flags, output, status, fragments", [c[1:] for c in BAD_CLIPS], ids=[c[0] for c in BAD_CLIPS]
)
def test_bad_clip_is_one_line_and_writes_nothing(tmp_path, make, flags, output, status, fragments):
    content = make(tmp_path)
    style = tmp_path / "style.png"
    Image.fromarray(gradient_image(48, 48, 2)).save(style)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_command(f"--content={content}", f"--style={style}", f"--output={out_dir / output}", *flags, *FAST)
    one_line_error(result, status, *fragments)
    assert os.listdir(out_dir) == []


@pytest.mark.parametrize("output", ["o.mp4", "frames"])
def test_an_existing_output_needs_overwrite(clip_files, tmp_path, output):
    gif, style = clip_files
    target = tmp_path / output
    if output == "frames":
        target.mkdir()
        (target / "frame_00001.png").write_bytes(b"mine")
    else:
        target.write_bytes(b"mine")
    result = run_command(f"--content={gif}", f"--style={style}", f"--output={target}", *FAST)
    one_line_error(result, 2, "exists", "--overwrite")
    assert (target / "frame_00001.png" if output == "frames" else target).read_bytes() == b"mine"


def test_sigterm_keeps_the_finished_frames_and_exits_143(clip_files, tmp_path):
    gif, style = clip_files
    out = tmp_path / "frames"
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "cli.py"),
            f"--content={gif}",
            f"--style={style}",
            f"--output={out}",
            "--max_size=48",
            "--steps=2",
            "--frame_steps=100000",
            *SHALLOW_LAYERS,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    deadline = time.monotonic() + 120
    while not (out / "frame_00001.png").exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 143, stderr
    assert "interrupted at frame 2/5; kept 1 finished frame(s)" in stderr.splitlines()[-1]
    assert os.listdir(out) == ["frame_00001.png"]
    assert Image.open(out / "frame_00001.png").size == (48, 36)
