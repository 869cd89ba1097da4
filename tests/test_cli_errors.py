"""Every bad input and bad flag, through the CLI: exit status, one line on stderr, no traceback, no file written.

Also the numerical guard (NaN/Inf keeps the last good image) and SIGKILL safety (never a corrupt output).
"""

import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from conftest import REPO, SHALLOW_LAYERS, gradient_image, one_line_error, run_command
from PIL import Image

import tf_nst
from tf_nst.transfer import StyleTransfer


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` but which holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def write(directory, name, data=None, image=None):
    path = directory / name
    if image is not None:
        image.save(path)
    elif data is not None:
        path.write_bytes(data)
    return str(path)


# (name, how to make the bad content file in a directory, exit status, text the error line must contain)
BAD_CONTENT = [
    ("missing", lambda d: str(d / "missing.jpg"), 1, "no such file"),
    ("text", lambda d: write(d, "notes.jpg", b"hello, not a photo"), 1, "not an image"),
    ("empty file", lambda d: write(d, "empty.png", b""), 1, "not an image"),
    ("truncated png", lambda d: write(d, "cut.png", png_with_size(64, 64)[:40]), 1, "cut.png"),
    ("huge header", lambda d: write(d, "bomb.png", png_with_size(60000, 60000)), 1, "limit of 100000000 pixels (--max"),
    (
        "over our limit",
        lambda d: write(d, "big.png", png_with_size(12000, 12000)),
        1,
        "limit of 100000000 pixels (--max",
    ),
    ("zero width", lambda d: write(d, "zero.png", png_with_size(0, 64)), 1, "zero.png"),
    ("too small", lambda d: write(d, "tiny.png", image=Image.fromarray(gradient_image(20, 20))), 1, "32x32"),
    ("one pixel", lambda d: write(d, "dot.png", image=Image.new("RGB", (1, 1))), 1, "32x32"),
    ("a directory", lambda d: (d / "photos").mkdir() or str(d / "photos"), 2, "no image files found"),
]


@pytest.mark.parametrize("make, status, fragment", [row[1:] for row in BAD_CONTENT], ids=[r[0] for r in BAD_CONTENT])
def test_bad_content_file(tmp_path, image_files, make, status, fragment):
    bad = make(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_command(f"--content={bad}", f"--style={image_files[1]}", f"--output={out_dir / 'o.png'}", "--steps=1")
    one_line_error(result, status, fragment)
    assert os.listdir(out_dir) == []


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--content=", "--style=s.png"], "--content: is empty"),
        (["--content=c.png", "--style="], "--style: is empty"),
        (["--content=c.png"], "--style: missing"),
        (["--style=s.png"], "--content: missing"),
    ],
)
def test_an_empty_or_missing_input_flag_is_named(tmp_path, flags, fragment):
    one_line_error(run_command(*flags, f"--output={tmp_path / 'o.png'}"), 2, fragment)
    assert not (tmp_path / "o.png").exists()


def test_bad_style_file(tmp_path, image_files):
    bad = write(tmp_path, "painting.png", b"\x89PNG\r\n\x1a\n garbage")
    result = run_command(f"--content={image_files[0]}", f"--style={bad}", f"--output={tmp_path / 'o.png'}", "--steps=1")
    one_line_error(result, 1, "painting.png")
    assert not (tmp_path / "o.png").exists()


BAD_FLAGS = [
    ("--steps=0", "--steps"),
    ("--steps=-5", "--steps"),
    ("--steps=abc", "steps"),
    ("--max_size=16", "--max_size"),
    ("--content_weight=-1", "--content_weight"),
    ("--style_weight=nan", "--style_weight"),
    ("--tv_weight=inf", "--tv_weight"),
    ("--learning_rate=0", "--learning_rate"),
    ("--style_layers=block1_conv1,block9_conv9", "block9_conv9"),
    ("--content_layers=block4_conv22", "did you mean block4_conv2"),
    ("--style_layer_weights=1,2", "2 weights for 5 style layers"),
    ("--style_layer_weights=1,a,1,1,1", "--style_layer_weights"),
    ("--style_layer_weights=0,0,0,0,0", "--style_layer_weights"),
    ("--style_blend_weights=1,1", "2 weights for 1 style images"),
    ("--style_blend_weights=-1", "--style_blend_weights"),
    ("--style_scale=0", "--style_scale"),
    ("--preserve_colors=sepia", "preserve_colors"),
    ("--pooling=min", "pooling"),
    ("--init=zeros", "--init"),
    ("--save_every=-1", "--save_every"),
    ("--max_input_pixels=0", "--max_input_pixels"),
    ("--precision=int8", "precision"),
    ("--scales=0", "--scales"),
    ("--memory_limit_mb=0", "--memory_limit_mb"),
    ("--no_such_flag=1", "no_such_flag"),
    ("stray_argument", "unexpected arguments"),
]


@pytest.mark.parametrize("flag, fragment", BAD_FLAGS, ids=[f for f, _ in BAD_FLAGS])
def test_bad_flag_is_a_usage_error(image_files, tmp_path, flag, fragment):
    content, style = image_files
    output = tmp_path / "out.png"
    result = run_command(f"--content={content}", f"--style={style}", f"--output={output}", "--steps=1", flag)
    one_line_error(result, 2, fragment)
    assert not output.exists()


BAD_OUTPUTS = [
    ("nowhere/out.png", 2, "does not exist"),
    ("out.gif", 2, "is read as a still image"),
    ("existing.png", 2, "--overwrite"),
    ("a_directory", 2, "is a directory"),
]


@pytest.mark.parametrize("output, status, fragment", BAD_OUTPUTS, ids=[o for o, *_ in BAD_OUTPUTS])
def test_bad_output_is_refused_before_any_work(image_files, tmp_path, output, status, fragment):
    (tmp_path / "existing.png").write_bytes(b"keep me")
    (tmp_path / "a_directory").mkdir()
    before = sorted(os.listdir(tmp_path))
    result = run_command(f"--content={image_files[0]}", f"--style={image_files[1]}", f"--output={tmp_path / output}")
    one_line_error(result, status, fragment)
    assert sorted(os.listdir(tmp_path)) == before and (tmp_path / "existing.png").read_bytes() == b"keep me"


BAD_TRACES = [
    ("nowhere/trace.json", "does not exist"),
    ("a_directory", "is a directory"),
    ("existing.json", "--overwrite"),
    ("content.png", "same file as input"),
]


@pytest.mark.parametrize("trace, fragment", BAD_TRACES, ids=[t for t, _ in BAD_TRACES])
def test_bad_trace_is_refused_before_any_work(image_files, tmp_path, trace, fragment):
    from tf_nst.cli.main import run
    from tf_nst.cli.options import RunOptions
    from tf_nst.errors import UsageError

    (tmp_path / "existing.json").write_bytes(b"keep me")
    (tmp_path / "a_directory").mkdir()
    before = sorted(os.listdir(tmp_path))
    content, style = image_files
    options = RunOptions(str(content), (str(style),), str(tmp_path / "out.png"), trace=str(tmp_path / trace))
    with pytest.raises(UsageError, match=rf"^--trace={tmp_path / trace}: .*{fragment}"):
        run(options, tf_nst.StyleTransferConfig(max_size=48, steps=1))
    assert sorted(os.listdir(tmp_path)) == before and (tmp_path / "existing.json").read_bytes() == b"keep me"


def test_a_trace_that_cannot_be_written_is_a_tf_nst_error(tmp_path):
    from tf_nst.cli.records import Trace

    trace = Trace(str(tmp_path / "gone" / "trace.json"), {"config": {}})
    with pytest.raises(tf_nst.TfNstError, match=r"trace.json: cannot write \(No such file or directory\)"):
        trace.write(images_written=0)


def test_overwrite_replaces_an_existing_output(image_files, tmp_path):
    output = tmp_path / "out.png"
    output.write_bytes(b"old")
    result = run_command(
        f"--content={image_files[0]}",
        f"--style={image_files[1]}",
        f"--output={output}",
        "--overwrite",
        "--max_size=48",
        "--steps=1",
        *SHALLOW_LAYERS,
    )
    assert result.returncode == 0, result.stderr
    assert Image.open(output).size == (48, 32)


def test_earlier_snapshots_are_not_replaced_silently(image_files, tmp_path):
    (tmp_path / "out.0002.png").write_bytes(b"from an earlier run")
    result = run_command(
        f"--content={image_files[0]}",
        f"--style={image_files[1]}",
        f"--output={tmp_path / 'out.png'}",
        "--save_every=2",
        "--steps=2",
    )
    one_line_error(result, 2, "snapshots of an earlier run")


@pytest.mark.parametrize("optimizer, style_weight", [("adam", 1e30), ("lbfgs", 3e38)])  # L-BFGS is scale-free
def test_non_finite_loss_keeps_the_last_good_image(random_model, optimizer, style_weight):
    content = gradient_image(48, 40)[None].astype(np.float32) / 255
    # the Gram loss's values: the weights above are where they overflow float32 a few evaluations in
    config = tf_nst.StyleTransferConfig(steps=5, style_weight=style_weight, optimizer=optimizer, style_loss="gram")
    reports = []
    with pytest.raises(tf_nst.errors.NumericalError, match=r"at evaluation \d.*learning_rate") as info:
        StyleTransfer(config, model=random_model).run(content, content[:, :, ::-1], reports.append, report_every=1)
    last_good = reports[-1].image.numpy() if reports else content  # the start image, if the first one failed
    assert info.value.step == len(reports) < 5
    np.testing.assert_array_equal(info.value.image.numpy(), last_good)


def test_non_finite_loss_at_the_cli_saves_the_last_good_image(image_files, tmp_path):
    output = tmp_path / "out.png"
    result = run_command(
        f"--content={image_files[0]}",
        f"--style={image_files[1]}",
        f"--output={output}",
        "--style_weight=1e30",
        "--optimizer=adam",  # L-BFGS is scale-free: this weight does not overflow it
        "--max_size=48",
        "--steps=5",
    )
    one_line_error(result, 1, "NaN or infinite at evaluation")
    assert Image.open(output).size == (48, 32)


def test_sigkill_never_leaves_a_corrupt_output(image_files, tmp_path):
    """Kill the CLI at two moments after its first snapshot, while it writes one every evaluation: every
    snapshot it leaves decodes."""
    output = tmp_path / "out.png"
    for delay in (0.0, 0.2):
        process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "cli.py"),
                f"--content={image_files[0]}",
                f"--style={image_files[1]}",
                f"--output={output}",
                "--max_size=96",
                "--scales=1",
                "--steps=100000",
                "--save_every=1",
                "--overwrite",
                *SHALLOW_LAYERS,
            ],
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        )
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("out.*.png")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL  # killed while running, not ended on its own
        snapshots = list(tmp_path.glob("out.*.png"))
        assert snapshots  # the kill came after snapshots were written: there is something to check
        for path in snapshots:
            with Image.open(path) as image:
                image.load()  # raises on a partial file
        for path in tmp_path.glob("out.0*.png"):
            path.unlink()
