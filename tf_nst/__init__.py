"""tf_nst: neural style transfer (Gatys et al., "Image Style Transfer Using Convolutional Neural Networks")
in TensorFlow 2 / Keras 3.

>>> import tf_nst
>>> image = tf_nst.stylize("photo.jpg", "painting.jpg", steps=300)   # float32 [1, H, W, 3] in [0, 1]
>>> tf_nst.save_image(image, "out.png")

Building blocks for your own TF code: ``build_feature_model`` (VGG-19, dict of feature maps), the pure
losses ``gram_matrix``, ``content_loss``, ``style_layer_loss``, ``gaussian_style_distance`` (with ``feature_mean``,
``covariance``, ``sqrtm``), ``total_variation_loss``, and
``StyleTransfer`` (the optimisation loop with a progress callback). ``plan`` says what a run will do (precision
and why, coarse-to-fine levels, estimated memory) before it starts. ``export_feature_extractor`` writes the
feature model as a SavedModel for TensorFlow Serving. ``StyleContentLoss`` is the same loss as a Keras loss,
for training an image-to-image network with ``model.fit``; ``LBFGS`` the optimizer as a Keras optimizer.
``stylize_video`` stylizes a clip frame by frame with temporal consistency (``VideoOptions``).

The names below are imported on first use, so ``import tf_nst``, ``tf_nst.StyleTransferConfig`` and
``tf_nst.VideoOptions`` do not import TensorFlow. The first name that needs it imports it with the runtime's
start-up messages kept off the terminal, as the ``tf-nst`` command does; set ``TF_NST_TF_LOGS=1`` to see them
(see ``tf_nst.quiet``).
"""

import importlib

from tf_nst.quiet import tensorflow_start_silenced

_MODULES = {  # module: the public names it defines
    "api": ("Stylizer", "stylize", "stylize_batch"),
    "config": ("StyleTransferConfig", "VideoOptions"),
    "errors": ("ConfigError", "ExportError", "ImageError", "InsufficientMemoryError", "TfNstError", "WeightsError"),
    "serving.export": ("export_feature_extractor",),
    "features": ("build_feature_model",),
    "layers": ("CONV_LAYERS",),
    "io.images": ("load_image", "save_image"),
    "keras_loss": ("StyleContentLoss",),
    "lbfgs": ("LBFGS",),
    "losses": (
        "content_loss",
        "covariance",
        "feature_mean",
        "gaussian_style_distance",
        "gram_matrix",
        "sqrtm",
        "style_layer_loss",
        "style_loss",
        "total_variation_loss",
    ),
    "planning": ("Plan", "plan"),
    "precision": ("PrecisionChoice", "resolve_precision"),
    "objective": ("StyleTargets",),
    "transfer": ("Progress", "StyleTransfer"),
    "io.weights": ("load_conv_weights",),
    "video": ("stylize_video",),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    """A public name, imported from its module on first use; or a submodule (``tf_nst.errors``)."""
    if name in _HOME:
        with tensorflow_start_silenced():
            value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    try:
        with tensorflow_start_silenced():
            return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
