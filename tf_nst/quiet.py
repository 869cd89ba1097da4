"""Keeping library chatter off the terminal: what TensorFlow's C++ runtime prints, warnings libraries log on the
root logger as they import, and TensorFlow's INFO lines. Imports neither TensorFlow nor Keras.

Set the environment variable ``TF_NST_TF_LOGS=1`` to see TensorFlow's start-up messages (oneDNN, CUDA driver
and CPU feature notes, the ``cuInit`` line of a machine without a GPU) again, in the library and the commands.
"""

from __future__ import annotations

import contextlib
import logging as std_logging
import os
import sys

from absl import logging

TF_LOGS = "TF_NST_TF_LOGS"  # "1": leave TensorFlow's start-up messages alone


@contextlib.contextmanager
def native_stderr_silenced():
    """Hide what TensorFlow's C++ runtime prints on import and device discovery (it ignores Python logging)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def tensorflow_start_silenced():
    """Within the block, and at TensorFlow's device discovery at its end, the C++ runtime prints nothing, and
    TensorFlow's C++ INFO and WARNING lines stay off later too (``TF_CPP_MIN_LOG_LEVEL=2`` unless already set).
    Import TensorFlow, and the modules that import it, in this block. With ``TF_NST_TF_LOGS=1`` it does nothing."""
    if os.environ.get(TF_LOGS) == "1":
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        yield
        if "tensorflow" in sys.modules:
            sys.modules["tensorflow"].config.list_physical_devices()  # device discovery, and its cuInit line, now


@contextlib.contextmanager
def root_warnings_silenced():
    """Keep warnings that libraries log on the root logger at import (Beam's missing optional clients) quiet."""
    root = std_logging.getLogger()
    level, handler = root.level, std_logging.NullHandler()
    root.addHandler(handler)  # so that logging.warning() does not install a stderr handler of its own
    root.setLevel(std_logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
        root.removeHandler(handler)


@contextlib.contextmanager
def absl_level_kept():
    """Put absl's logger level back as it was set (NOTSET follows the root). TensorFlow's SavedModel writer
    lowers absl's verbosity and sets it back as a fixed level, which would hide a caller's INFO records."""
    absl_logger = logging.get_absl_logger()
    level = absl_logger.level
    try:
        yield
    finally:
        absl_logger.setLevel(level)


@contextlib.contextmanager
def info_logs_silenced():
    """Keep TensorFlow's INFO lines (SavedModel writer details) off the terminal; warnings still show."""
    tf_logger = std_logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    with absl_level_kept():
        logging.set_verbosity(min(logging.get_verbosity(), logging.WARNING))
        tf_logger.setLevel(std_logging.WARNING)
        try:
            yield
        finally:
            tf_logger.setLevel(tf_level)
