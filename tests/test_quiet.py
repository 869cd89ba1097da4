"""A quiet start: the library prints nothing of TensorFlow's start-up, and its configuration needs no TensorFlow."""

import os
import subprocess
import sys

from conftest import REPO

STYLIZE = """
import numpy as np, tf_nst
pixels = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
image = tf_nst.stylize(pixels, pixels, max_size=48, steps=1)
print(image.shape)
"""
# What TensorFlow's C++ runtime prints as it starts depends on the build and the machine (oneDNN, CUDA, CPU
# features), and may be nothing: the child writes a line of its own on file descriptor 2 as TensorFlow is imported,
# so that a start that is not silenced shows on every machine.
NATIVE_LINE = "a native line as TensorFlow is imported"
SAYS_AT_IMPORT = f"""
import importlib.abc, os, sys

class SaysAtImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            os.write(2, b"{NATIVE_LINE}\\n")
        return None

sys.meta_path.insert(0, SaysAtImport())
"""


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter from the checkout, without the tests' TF_CPP_MIN_LOG_LEVEL."""
    base = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_NST_TF_LOGS")}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env={**base, **env}
    )


def test_import_and_first_stylize_print_nothing_on_stderr():
    result = python(SAYS_AT_IMPORT + STYLIZE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 40, 48, 3)"
    assert result.stderr == ""


def test_tensorflow_logs_on_request():
    result = python(SAYS_AT_IMPORT + "import tf_nst; tf_nst.StyleTransfer", TF_NST_TF_LOGS="1")
    assert result.returncode == 0, result.stderr
    assert NATIVE_LINE in result.stderr  # file descriptor 2 left alone


def test_the_configuration_imports_no_tensorflow():
    result = python(
        "import sys, tf_nst\n"
        "config = tf_nst.StyleTransferConfig(max_size=64, content_layers=('block4_conv2',))\n"
        "from tf_nst import io, memory, pyramid\n"
        "from tf_nst.io import images\n"
        "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
