"""The export command: the feature extractor written as a SavedModel, TensorFlow Serving's layout."""

from __future__ import annotations

from absl import logging

from tf_nst.cli.options import RunOptions
from tf_nst.config import StyleTransferConfig
from tf_nst.quiet import info_logs_silenced


def export(options: RunOptions, config: StyleTransferConfig) -> None:
    """Write the feature extractor as a SavedModel to ``options.export_dir`` and log where it went."""
    from tf_nst.serving.export import export_feature_extractor, exported_layers

    with info_logs_silenced():
        path = export_feature_extractor(
            options.export_dir,
            config,
            options.export_version,
            options.overwrite,
            max_pixels=options.export_max_pixels,
            max_size=options.export_max_size,
        )
    logging.info(
        "wrote the SavedModel (layers %s, weights=%s, pooling=%s) to %s; TensorFlow Serving's model base path is %s",
        ",".join(exported_layers(config)),
        config.weights,
        config.pooling,
        path,
        options.export_dir,
    )
