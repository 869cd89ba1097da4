"""Random seeds and op determinism for a run, as its ``StyleTransferConfig`` says: one place for every command."""

from __future__ import annotations

import tensorflow as tf

from tf_nst.config import StyleTransferConfig


def seed_run(config: StyleTransferConfig) -> None:
    """TensorFlow's op determinism (if ``config.deterministic``) and the Python, NumPy and TensorFlow seeds."""
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(config.seed)
