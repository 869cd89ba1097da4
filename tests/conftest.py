"""Shared fixtures: tiny images, a random-weight feature model built once, paths to the shared images."""

import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from PIL import Image

from bench.common import SHARED_IMAGES  # noqa: F401  ($TF_NST_SHARED_IMAGES, or shared/images beside the checkout)

REPO = pathlib.Path(__file__).resolve().parents[1]
SLOWEST_FIRST = ("test_beam_dask.py", "test_beam.py", "test_cli_errors.py", "test_export.py")  # each over 30 s


def pytest_collection_modifyitems(items):
    """Start the modules with the longest tests first, so that both workers finish at about the same time."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def seeded_random_model(content_layers, style_layers):
    """A VGG-19 feature model for these layers with Keras' random initialisation, seed 0."""
    import keras

    from tf_nst.features import build_feature_model

    keras.utils.set_random_seed(0)
    return build_feature_model(tuple(content_layers) + tuple(style_layers), None)


@pytest.fixture(scope="session")
def random_model():
    """The default layers' feature model, random weights (fast, deterministic)."""
    from tf_nst.config import StyleTransferConfig

    defaults = StyleTransferConfig()
    return seeded_random_model(defaults.content_layers, defaults.style_layers)


@pytest.fixture(scope="session")
def shallow_model():
    """``random_model`` to block2 only, for configs with ``SHALLOW``'s layers (a fraction of the trace)."""
    return seeded_random_model(**SHALLOW)


# For tests of what the command does around a stylization (files, records, batches, signals), not of the
# picture: VGG-19 to block2 only, which traces in a fraction of the full network's time.
SHALLOW = dict(content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1"))  # config fields
SHALLOW_LAYERS = [f"--{name}={','.join(layers)}" for name, layers in SHALLOW.items()]  # the same as flags
# A command run of two steps at 48 px on those layers.
QUICK_RUN = ["--max_size=48", "--steps=2", *SHALLOW_LAYERS]
# A pipeline run of ``python -m tf_nst.beam`` (and the command's run it is compared with): one level of 64 px.
BEAM_RUN = ["--max_size=64", "--scales=1", "--steps=3", "--seed=0", *SHALLOW_LAYERS]


def gradient_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 [H, W, 3]: smooth colour ramps plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 255
    return np.clip(pixels + rng.normal(0, 20, pixels.shape), 0, 255).astype(np.uint8)


def tiny_pair():
    """A 48x40 content and a 40x40 style image as float32 [1, H, W, 3] tensors in [0, 1]."""
    import tensorflow as tf

    content = gradient_image(48, 40, 1)[None].astype(np.float32) / 255
    style = gradient_image(40, 40, 2)[None, :, ::-1].astype(np.float32) / 255
    return tf.constant(content), tf.constant(style)


def pixels(path) -> np.ndarray:
    """An image file's RGB pixels as int16 [H, W, 3], for differences."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.int16)


@pytest.fixture
def image_files(tmp_path):
    """A 96x64 content PNG and a 64x64 style JPEG."""
    content, style = tmp_path / "content.png", tmp_path / "style.jpg"
    Image.fromarray(gradient_image(96, 64, 1)).save(content)
    Image.fromarray(gradient_image(64, 64, 2)[:, ::-1]).save(style)
    return content, style


def run_cli(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python cli.py ARGS`` as a user would; returns the completed process (text output)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
        env=env,
    )


def run_command(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The ``tf-nst`` command run in this process: its flag parsing, ``main``, exit status and log lines, as
    ``run_cli`` gives them but without a fresh interpreter's TensorFlow import. For every run that needs no
    process of its own (signals, a terminal, the start-up's quiet are tested with ``run_cli``). A traceback
    cannot hide here: an exception the command does not turn into an exit status fails the test."""
    import contextlib
    import io
    import logging

    from absl import logging as absl_logging
    from tensorflow.python.framework import config as tf_config  # op determinism: --deterministic is global

    from tf_nst.cli import main as command

    argv, stdout, stderr = ["tf-nst", *args], io.StringIO(), io.StringIO()
    log, handler = absl_logging.get_absl_logger(), logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))  # as ``tf-nst`` logs
    level, propagate = log.level, log.propagate  # restored as they were (absl's unparse would pin WARNING)
    deterministic = tf_config.is_op_determinism_enabled()
    status = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(stdout))
        stack.enter_context(contextlib.redirect_stderr(stderr))
        if cwd is not None:
            stack.callback(os.chdir, os.getcwd())
            os.chdir(cwd)
        log.addHandler(handler)
        log.propagate = False
        absl_logging.set_verbosity(absl_logging.INFO)
        try:
            command.main(command.parse_flags(argv))
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
        finally:
            command.FLAGS.unparse_flags()
            log.removeHandler(handler)
            log.propagate = propagate
            log.setLevel(level)
            if not deterministic:
                tf_config.disable_op_determinism()
    return subprocess.CompletedProcess(argv, status, stdout.getvalue(), stderr.getvalue())


def one_line_error(result: subprocess.CompletedProcess, status: int, *fragments: str) -> None:
    """Assert the CLI exited with ``status`` and one ``tf_nst: error:`` line naming every fragment."""
    assert result.returncode == status, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("tf_nst: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
