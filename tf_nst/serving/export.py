"""The VGG-19 feature extractor as a SavedModel, in TensorFlow Serving's layout.

``export_feature_extractor`` writes ``<export_dir>/<version>/saved_model.pb`` and ``variables/``, with four
signatures, each with dynamic batch, height and width:

- ``serving_default``: ``images`` float32 ``[batch, height, width, 3]`` RGB in [0, 1], height and width
  from 32 to ``max_size``, to one float32 feature map per exported layer (content and style layers), named by
  layer.
- ``gram``: ``images`` as above, to the Gram matrix ``[batch, C, C]`` (divided by height * width at that
  layer, as ``tf_nst.gram_matrix``) of each style layer, named by layer.
- ``mean``: ``images`` as above, to the mean ``[batch, C]`` over positions of each style layer, named by layer.
  With the Gram matrix (the second moment) it gives the covariance, ``gram - mean mean^T``: the statistics of
  ``--style_loss=gaussian``.
- ``encoded``: ``image_bytes`` string ``[batch]`` (JPEG, PNG, GIF or BMP file bytes) and ``max_size`` int32
  scalar (32 to the export's ``max_size``), to the same Gram matrices. Each file is checked from its header
  (at most ``max_pixels`` pixels), decoded, turned upright (JPEG EXIF orientation) and resized on its own
  (``tf_nst.serving.images.decode_and_resize``), one file at a time, so one batch may hold files of different
  sizes and memory does not grow with the batch.

``max_pixels`` and ``max_size`` are fixed at export time (defaults 50,000,000 and 2048, from ``tf_nst.limits``);
the loaded object's ``limits()`` returns them. Anything refused is an ``InvalidArgumentError`` naming the limit
(for ``encoded``, the file's index, ``image_bytes[i]``), and a bad file fails the whole request. The SavedModel
holds only TensorFlow ops and variables: loading it needs neither tf_nst nor keras.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ExportError, first_line
from tf_nst.features import check_outputs, feature_model
from tf_nst.io.atomic import staged_directory
from tf_nst.layers import MIN_SIDE
from tf_nst.limits import EXPORT_MAX_PIXELS, EXPORT_MAX_SIZE, EXPORT_MAX_SIZE_CEILING
from tf_nst.losses import feature_mean, gram_matrix
from tf_nst.quiet import absl_level_kept
from tf_nst.serving.images import decode_and_resize

IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
IMAGE_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")
MAX_SIZE_SPEC = tf.TensorSpec([], tf.int32, name="max_size")


def exported_layers(config: StyleTransferConfig) -> tuple[str, ...]:
    """The layers ``serving_default`` outputs: content layers, then style layers, each once."""
    return tuple(dict.fromkeys(config.content_layers + config.style_layers))


def _check_images(images: tf.Tensor, max_size: int) -> tf.Tensor:
    """``images``, once its height and width are known to be from ``MIN_SIDE`` to ``max_size``."""
    sides = tf.shape(images)[1:3]
    message = tf.strings.format(
        "images of height and width {} are outside {} to {} pixels a side (the max_size limit of this export)",
        (sides, MIN_SIDE, max_size),
    )
    check = tf.debugging.Assert((tf.reduce_min(sides) >= MIN_SIDE) & (tf.reduce_max(sides) <= max_size), [message])
    with tf.control_dependencies([check]):
        return tf.identity(images)


def _check_max_size(max_size: tf.Tensor, limit: int) -> tf.Operation:
    message = tf.strings.format(
        "max_size={} is outside [{}, {}] (the max_size limit of this export)", (max_size, MIN_SIDE, limit)
    )
    return tf.debugging.Assert((max_size >= MIN_SIDE) & (max_size <= limit), [message])


def build_serving_module(
    model: keras.Model,
    layers: Sequence[str],
    style_layers: Sequence[str],
    *,
    max_pixels: int = EXPORT_MAX_PIXELS,
    max_size: int = EXPORT_MAX_SIZE,
) -> tf.Module:
    """A ``tf.Module`` whose ``features``, ``gram``, ``mean`` and ``encoded`` functions are the signatures, and whose
    ``limits`` function returns ``{"max_pixels": int64, "max_size": int32}``.

    ``model`` is a ``build_feature_model`` model with outputs for every name in ``layers`` and
    ``style_layers``. The functions close over it; the module tracks only its ``tf.Variable``s, so the saved
    object graph holds no Keras objects. ``max_pixels`` bounds the pixels a file of ``encoded`` may declare
    in its header; ``max_size`` bounds ``encoded``'s ``max_size`` and the height and width of ``images``.
    """
    layers = tuple(dict.fromkeys(layers))
    style_layers = tuple(dict.fromkeys(style_layers))
    check_outputs(model, layers + style_layers)
    size_limit = max_size

    def run_model(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = model(images, training=False)
        return {name: tf.cast(outputs[name], tf.float32) for name in layers + style_layers}

    def grams(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = run_model(images)
        return {name: gram_matrix(outputs[name]) for name in style_layers}

    @tf.function(input_signature=[IMAGES_SPEC])
    def features(images):
        outputs = run_model(_check_images(images, size_limit))
        return {name: outputs[name] for name in layers}

    @tf.function(input_signature=[IMAGES_SPEC])
    def gram(images):
        return grams(_check_images(images, size_limit))

    @tf.function(input_signature=[IMAGES_SPEC])
    def mean(images):
        outputs = run_model(_check_images(images, size_limit))
        return {name: feature_mean(outputs[name]) for name in style_layers}

    channels = {name: model.output[name].shape[-1] for name in style_layers}

    @tf.function(input_signature=[IMAGE_BYTES_SPEC, MAX_SIZE_SPEC], autograph=False)
    def encoded(image_bytes, max_size):
        with tf.control_dependencies([_check_max_size(max_size, size_limit)]):
            indices = tf.range(tf.size(image_bytes))

        def one_image(args):
            index, data = args
            name = tf.strings.format("image_bytes[{}]", index)
            pixels = decode_and_resize(data, max_size, max_pixels=max_pixels, max_size_limit=size_limit, name=name)
            return {name: g[0] for name, g in grams(pixels[None]).items()}

        return tf.map_fn(  # one file at a time: peak memory is that of the largest file, not of the batch
            one_image,
            (indices, image_bytes),
            parallel_iterations=1,
            fn_output_signature={name: tf.TensorSpec([c, c], tf.float32) for name, c in channels.items()},
        )

    @tf.function(input_signature=[])
    def limits():
        return {"max_pixels": tf.constant(max_pixels, tf.int64), "max_size": tf.constant(size_limit, tf.int32)}

    module = tf.Module(name="vgg19_features")
    module.model_variables = [variable.value for variable in model.variables]
    module.features, module.gram, module.mean, module.encoded = features, gram, mean, encoded
    module.limits = limits
    return module


def check_limits(max_pixels: int, max_size: int) -> None:
    """Raise ConfigError unless ``max_pixels`` is an int from 32 * 32 to 2**31 - 1 and ``max_size`` one from 32
    to ``EXPORT_MAX_SIZE_CEILING``."""
    for flag, value, low, high in (
        ("--export_max_pixels", max_pixels, MIN_SIDE * MIN_SIDE, 2**31 - 1),
        ("--export_max_size", max_size, MIN_SIDE, EXPORT_MAX_SIZE_CEILING),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{flag}: must be an integer from {low} to {high}, got {value!r}")


def check_export_target(export_dir: str, version: int, overwrite: bool) -> str:
    """Refuse, before any work, a place the export cannot go; return ``<export_dir>/<version>``.

    Raises ConfigError (a usage error) naming the path when ``export_dir`` or one of its ancestors is not a
    directory, the nearest existing ancestor is not writable, ``version`` is not a positive integer, or the
    version already exists and ``overwrite`` is false.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"--export_version: must be a positive integer, got {version!r}")
    if not export_dir:
        raise ConfigError("--export_dir: empty path")
    path = os.path.abspath(export_dir)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ConfigError(f"--export_dir={export_dir}: exists and is not a directory")
    ancestor = path
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise ConfigError(f"--export_dir={export_dir}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"--export_dir={export_dir}: {ancestor} is not writable")
    target = os.path.join(export_dir, str(version))
    if os.path.lexists(target) and not overwrite:
        raise ConfigError(f"{target}: version {version} already exists; pass --overwrite to replace it")
    return target


def export_feature_extractor(
    export_dir: str | os.PathLike,
    config: StyleTransferConfig | None = None,
    version: int = 1,
    overwrite: bool = False,
    model: keras.Model | None = None,
    *,
    max_pixels: int = EXPORT_MAX_PIXELS,
    max_size: int = EXPORT_MAX_SIZE,
) -> str:
    """Write the feature extractor to ``<export_dir>/<version>`` as a SavedModel; return that path.

    The layers and network follow ``config`` (default ``StyleTransferConfig()``): ``content_layers`` and
    ``style_layers`` (``serving_default`` outputs both, ``gram`` and ``encoded`` the style layers),
    ``weights`` and ``pooling``. ``model`` replaces the network built from ``config`` (for example one with
    random weights); it needs an output for every exported layer.

    The served model refuses (``InvalidArgumentError``) what would exhaust a server: a file for ``encoded``
    whose header declares more than ``max_pixels`` pixels (1024 to 2**31 - 1), checked before decoding, and
    an ``encoded`` ``max_size``, or an ``images`` height or width, above ``max_size`` (32 to 4096).

    The export is written into a temporary sibling directory and then renamed into place
    (``tf_nst.io.atomic.staged_directory``), so ``<version>`` is never a partial export. An existing version
    is kept (ConfigError) unless ``overwrite``; then, once the new export is complete, the old one is renamed
    aside and the new one into its place (TensorFlow Serving serves the highest version: export a new one to
    roll out without a gap). Raises ConfigError for a bad place, version or limit (before any work),
    WeightsError for bad weights, ExportError when writing fails (the old version then stays).
    """
    export_dir = os.fspath(export_dir)
    config = config or StyleTransferConfig()
    check_limits(max_pixels, max_size)
    target = check_export_target(export_dir, version, overwrite)
    layers = exported_layers(config)
    if model is None:
        model = feature_model(config.replace(precision="float32", tileable=False))  # the served model pads with zeros
    module = build_serving_module(model, layers, config.style_layers, max_pixels=max_pixels, max_size=max_size)
    # The functions themselves, not concrete functions traced here: saving traces each function once more in
    # its own context, so a concrete function traced outside it would be traced (and paid for) twice.
    signatures = {
        "serving_default": module.features,
        "gram": module.gram,
        "mean": module.mean,
        "encoded": module.encoded,
    }
    try:
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        with absl_level_kept(), staged_directory(target, replace=overwrite) as staged:
            tf.saved_model.save(module, staged, signatures=signatures)
    except Exception as err:  # OSError, or TensorFlow's own error types
        message = first_line(err)
        raise ExportError(f"{target}: cannot write SavedModel ({type(err).__name__}: {message})") from err
    return target
