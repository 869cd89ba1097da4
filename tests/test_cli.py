"""The command line: in this process (``run_command``), and as a subprocess the way a user runs it where a real
process matters (a terminal, ``python -m``, ``--help``)."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
from conftest import (
    QUICK_RUN,
    REPO,
    SHALLOW_LAYERS,
    SHARED_IMAGES,
    gradient_image,
    one_line_error,
    run_cli,
    run_command,
)
from PIL import Image


def test_stylizes_files_into_the_requested_format(image_files, tmp_path):
    content, style = image_files
    output = tmp_path / "out.jpg"
    result = run_command(f"--content={content}", f"--style={style}", f"--output={output}", *QUICK_RUN)
    assert result.returncode == 0, result.stderr
    with Image.open(output) as image:
        assert image.format == "JPEG" and image.size == (48, 32)
    assert "eval 2/2" in result.stderr and "wrote" in result.stderr


def test_demo_runs_without_inputs(tmp_path):
    result = run_command("--output=demo.png", *QUICK_RUN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "demo.png").size == (48, 36)


def run_in_terminal(*args: str, cwd, timeout: float = 300) -> tuple[int, str]:
    """Run ``python -m tf_nst ARGS`` on a pseudo-terminal 100 columns wide, with TensorFlow's C++ logs at their
    default level; its exit status and all it printed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tf_nst", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=cwd,
        env=dict(env, PYTHONPATH=str(REPO)),
    )
    os.close(terminal)
    printed, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([controller], [], [], 1.0)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            printed += chunk
    os.close(controller)
    return process.wait(timeout=10), printed.decode(errors="replace")


def test_python_m_tf_nst_on_a_terminal_shows_one_live_line_and_no_runtime_chatter(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(gradient_image(64, 64, len(name))).save(photos / name)
    Image.fromarray(gradient_image(64, 64, 9)).save(tmp_path / "style.png")
    status, printed = run_in_terminal(
        f"--content={photos}",
        "--style=style.png",
        "--output=out",
        "--max_size=64",
        "--scales=2",
        "--steps=2",
        *SHALLOW_LAYERS,
        cwd=tmp_path,
    )
    assert status == 0, printed
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]
    bars = [part for line in printed.split("\n") for part in line.split("\r") if " |" in part]
    assert any(re.match(r"image 2/2  scale 2/2 64x64  eval 1/1 \|", bar) for bar in bars), printed
    assert any(re.match(r"image 1/2  scale 1/2 32x32  eval \d/2 \|.*s/eval ETA", bar) for bar in bars), printed
    assert "\r" in printed and "content=" in "".join(bars)
    assert not re.search(r"\d\d:\d\d:\d\d (image|scale|eval) ", printed)  # no progress log lines
    assert re.search(r"\d\d:\d\d:\d\d wrote out/b.png", printed)
    assert "Traceback" not in printed
    # nothing but the live line and log lines: none of TensorFlow's start-up chatter
    lines = [part for line in printed.split("\n") for part in line.split("\r") if part.strip()]
    assert all(" |" in line or re.match(r"(\x1b\[K)?\d\d:\d\d:\d\d ", line) for line in lines), printed


def test_quiet_prints_nothing_and_writes_the_image(tmp_path):
    result = run_command("--output=demo.png", "--quiet", *QUICK_RUN, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""
    assert Image.open(tmp_path / "demo.png").size == (48, 36)


@pytest.mark.parametrize(
    "argument, status, printed",
    [("--help", 0, "flags:"), ("--bogus=1", 2, "Unknown command line flag 'bogus'"), ("--max_size=8", 2, "--max_size")],
)
def test_help_and_flag_errors_answer_before_tensorflow_is_imported(argument, status, printed):
    report = "import atexit, sys; atexit.register(lambda: print('tensorflow' in sys.modules, file=sys.stderr))"
    code = f"{report}; sys.argv = ['tf-nst', {argument!r}]; from tf_nst.cli.main import console_main; console_main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == status, result.stderr
    assert printed in result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == "False", result.stderr  # TensorFlow was never imported


@pytest.mark.parametrize("spelling, runner", [("--help", run_cli), ("-h", run_command)])
def test_help_exits_0_and_documents_every_flag(spelling, runner):
    from absl import flags

    from tf_nst.cli.flags import flag_names
    from tf_nst.cli.main import FLAGS
    from tf_nst.cli.options import RunOptions
    from tf_nst.config import StyleTransferConfig

    names = flag_names(StyleTransferConfig) + flag_names(RunOptions)
    assert {"style", "quiet", "temporal_weight", "fill", "frames"} <= set(names)  # renamed, flag-only, nested
    spelled = [f"--[no]{n}" if isinstance(FLAGS[n], flags.BooleanFlag) else f"--{n}" for n in names]
    result = runner(spelling)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Paint a photo in the style of a painting"), result.stdout[:200]
    assert not any(line.rstrip().endswith(("cli.py:", "tf-nst:", "main.py:")) for line in result.stdout.splitlines())
    listed = re.findall(r"^  (--\S+): ", result.stdout, re.M)
    assert sorted(listed) == sorted(spelled)
    readme = (REPO / "README.md").read_text()
    for name in names:
        assert f"| `--{name}`" in readme, name


def test_precision_flag_is_used_and_logged(image_files, tmp_path):
    content, style = image_files
    output = tmp_path / "out.png"
    result = run_command(
        f"--content={content}", f"--style={style}", f"--output={output}", "--precision=float32", *QUICK_RUN
    )
    assert result.returncode == 0, result.stderr
    assert "precision float32 (as requested)" in result.stderr and output.exists()


def test_scales_run_coarse_to_fine_to_the_full_size(tmp_path):
    content, style, output = tmp_path / "content.png", tmp_path / "style.png", tmp_path / "out.png"
    Image.fromarray(gradient_image(64, 64, 1)).save(content)
    Image.fromarray(gradient_image(64, 64, 2)).save(style)
    flags = ["--max_size=64", "--scales=2", "--steps=2", *SHALLOW_LAYERS]
    result = run_command(f"--content={content}", f"--style={style}", f"--output={output}", *flags)
    assert result.returncode == 0, result.stderr
    assert "coarse to fine: 32x32 (2 evaluations), 64x64 (1 evaluation)" in result.stderr
    assert "scale 1/2 32x32  eval 2/2" in result.stderr and "scale 2/2 64x64  eval 1/1" in result.stderr
    assert Image.open(output).size == (64, 64)


def test_run_that_would_not_fit_in_memory_is_refused_before_work(image_files, tmp_path):
    import tensorflow as tf

    from tf_nst.config import StyleTransferConfig
    from tf_nst.memory import MB, optimizer_images, peak_bytes

    content, style = image_files  # 96x64 and 64x64
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    defaults = StyleTransferConfig()
    layers, state = defaults.content_layers + defaults.style_layers, optimizer_images(defaults.optimizer, 20)
    at_64 = peak_bytes((64, 43), (64, 64), layers, "float32", device, state)
    output = tmp_path / "out.png"
    result = run_command(
        f"--content={content}",
        f"--style={style}",
        f"--output={output}",
        "--max_size=128",
        "--precision=float32",
        f"--memory_limit_mb={at_64 // MB + 1}",
    )
    one_line_error(result, 2, "--max_size=128: needs about", "the largest --max_size that fits is")
    assert not output.exists() and "eval 1/" not in result.stderr


def test_only_one_of_content_and_style_is_a_usage_error(image_files):
    one_line_error(run_command(f"--content={image_files[0]}"), 2, "--style")


def test_output_over_an_input_is_refused(image_files):
    content, style = image_files
    before = content.read_bytes()
    one_line_error(
        run_command(f"--content={content}", f"--style={style}", f"--output={content}", *QUICK_RUN), 2, "same file"
    )
    assert content.read_bytes() == before


def test_corrupt_weights_flag_is_a_clear_failure(image_files, tmp_path):
    bad = tmp_path / "vgg.h5"
    bad.write_bytes(b"not hdf5")
    one_line_error(
        run_command(
            f"--content={image_files[0]}",
            f"--style={image_files[1]}",
            f"--weights={bad}",
            f"--output={tmp_path / 'o.png'}",
            *QUICK_RUN,
        ),
        1,
        str(bad),
    )


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_IMAGES / "tubingen.jpg").exists(), reason="shared images not present")
def test_real_photo_and_painting_are_stylized(tmp_path):
    """tubingen + starry night at 96 px: the result moves far from the photo, towards the painting's colours."""
    output = tmp_path / "tubingen.png"
    result = run_command(
        f"--content={SHARED_IMAGES / 'tubingen.jpg'}",
        f"--style={SHARED_IMAGES / 'starry_night.jpg'}",
        f"--output={output}",
        "--max_size=96",
        "--steps=30",
        "--learning_rate=0.05",
    )
    assert result.returncode == 0, result.stderr
    out = np.asarray(Image.open(output), np.float32) / 255
    photo = (
        np.asarray(Image.open(SHARED_IMAGES / "tubingen.jpg").convert("RGB").resize(out.shape[1::-1]), np.float32) / 255
    )
    painting = np.asarray(Image.open(SHARED_IMAGES / "starry_night.jpg").convert("RGB"), np.float32) / 255
    assert np.abs(out - photo).mean() > 0.05
    # the painting is blue-dominated; the stylized photo's mean colour moves towards it
    assert np.linalg.norm(out.mean((0, 1)) - painting.mean((0, 1))) < np.linalg.norm(
        photo.mean((0, 1)) - painting.mean((0, 1))
    )


def test_ci_runs_the_readmes_test_command():
    readme = (REPO / "README.md").read_text()
    command = re.search(r"Set up and run the tests.*?```sh\n(.*?)\n```", readme, re.S).group(1)
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
