"""tf_nst: neural style transfer (Gatys et al., "Image Style Transfer Using Convolutional Neural Networks")
in TensorFlow 2 / Keras 3.

>>> import tf_nst
>>> image = tf_nst.stylize("photo.jpg", "painting.jpg", steps=300)   # float32 [1, H, W, 3] in [0, 1]
>>> tf_nst.save_image(image, "out.png")

Building blocks for your own TF code: ``build_feature_model`` (VGG-19, dict of feature maps), the pure
losses ``gram_matrix``, ``content_loss``, ``style_layer_loss``, ``style_loss``, ``total_variation_loss``, and
``StyleTransfer`` (the optimisation loop with a progress callback). ``plan`` says what a run will do (precision
and why, coarse-to-fine levels, estimated memory) before it starts. ``export_feature_extractor`` writes the
feature model as a SavedModel for TensorFlow Serving. ``StyleContentLoss`` is the same loss as a Keras loss,
for training an image-to-image network with ``model.fit``.
"""

from tf_nst.api import Plan, Stylizer, plan, stylize, stylize_batch
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ExportError, ImageError, InsufficientMemoryError, TfNstError, WeightsError
from tf_nst.export import export_feature_extractor
from tf_nst.features import CONV_LAYERS, build_feature_model
from tf_nst.image_io import load_image, save_image
from tf_nst.keras_loss import StyleContentLoss
from tf_nst.losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_variation_loss
from tf_nst.precision import PrecisionChoice, resolve_precision
from tf_nst.transfer import Progress, StyleTransfer
from tf_nst.weights import load_conv_weights

__all__ = [
    "CONV_LAYERS",
    "ConfigError",
    "ExportError",
    "ImageError",
    "InsufficientMemoryError",
    "Plan",
    "PrecisionChoice",
    "Progress",
    "StyleContentLoss",
    "StyleTransfer",
    "StyleTransferConfig",
    "Stylizer",
    "TfNstError",
    "WeightsError",
    "build_feature_model",
    "content_loss",
    "export_feature_extractor",
    "gram_matrix",
    "load_conv_weights",
    "load_image",
    "plan",
    "resolve_precision",
    "save_image",
    "style_layer_loss",
    "style_loss",
    "stylize",
    "stylize_batch",
    "total_variation_loss",
]
