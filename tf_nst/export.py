"""The VGG-19 feature extractor as a SavedModel, in TensorFlow Serving's layout.

``export_feature_extractor`` writes ``<export_dir>/<version>/saved_model.pb`` and ``variables/``, with three
signatures, each with dynamic batch, height and width:

- ``serving_default``: ``images`` float32 ``[batch, height, width, 3]`` RGB in [0, 1], height and width
  >= 32, to one float32 feature map per exported layer (content and style layers), named by layer.
- ``gram``: ``images`` as above, to the Gram matrix ``[batch, C, C]`` (divided by height * width at that
  layer, as ``tf_nst.gram_matrix``) of each style layer, named by layer.
- ``encoded``: ``image_bytes`` string ``[batch]`` (JPEG, PNG, GIF or BMP file bytes) and ``max_size`` int32
  scalar, to the same Gram matrices. Each image is decoded and resized on its own (``decode_and_resize``),
  so one batch may hold files of different sizes.

The SavedModel holds only TensorFlow ops and variables: loading it needs neither tf_nst nor keras.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence

import keras
import tensorflow as tf

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ExportError
from tf_nst.features import MIN_SIDE, build_feature_model
from tf_nst.losses import gram_matrix
from tf_nst.weights import load_conv_weights

SIGNATURES = ("serving_default", "gram", "encoded")
IMAGES_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name="images")
IMAGE_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")
MAX_SIZE_SPEC = tf.TensorSpec([], tf.int32, name="max_size")


def exported_layers(config: StyleTransferConfig) -> tuple[str, ...]:
    """The layers ``serving_default`` outputs: content layers, then style layers, each once."""
    return tuple(dict.fromkeys(config.content_layers + config.style_layers))


def decode_and_resize(image_bytes: tf.Tensor, max_size: tf.Tensor) -> tf.Tensor:
    """One image file's bytes (string scalar) to float32 ``[h, w, 3]`` RGB in [0, 1], longest side ``max_size``.

    Grayscale becomes RGB and alpha is dropped; an animated GIF gives its first frame. The aspect ratio is
    kept, sides rounded half to even as ``tf_nst.image_io.resized_size`` does, and the resize antialiases
    (Lanczos-3, like the library's PIL LANCZOS). Fails (``InvalidArgumentError``) on bytes that are not an
    image, on ``max_size`` below 32, or when the resized image is smaller than 32x32.
    """
    max_size = tf.convert_to_tensor(max_size, tf.int32)
    tf.debugging.assert_greater_equal(max_size, MIN_SIDE, message=f"max_size must be at least {MIN_SIDE}")
    image = tf.io.decode_image(image_bytes, channels=3, dtype=tf.float32, expand_animations=False)
    shape = tf.cast(tf.shape(image)[:2], tf.float64)
    scale = tf.cast(max_size, tf.float64) / tf.reduce_max(shape)
    size = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), 1)
    tf.debugging.Assert(
        tf.reduce_min(size) >= MIN_SIDE,
        ["image resized to [height, width] =", size, f"is below the {MIN_SIDE}x{MIN_SIDE} minimum; raise max_size"],
    )
    resized = tf.image.resize(image, size, method="lanczos3", antialias=True)
    return tf.clip_by_value(resized, 0.0, 1.0)


def _check_images(images: tf.Tensor) -> None:
    shape = tf.shape(images)
    tf.debugging.Assert(
        tf.reduce_min(shape[1:3]) >= MIN_SIDE,
        ["images of shape", shape, f"are below the {MIN_SIDE}x{MIN_SIDE} minimum height and width"],
    )


def build_serving_module(model: keras.Model, layers: Sequence[str], style_layers: Sequence[str]) -> tf.Module:
    """A ``tf.Module`` whose ``features``, ``gram`` and ``encoded`` functions are the three signatures.

    ``model`` is a ``build_feature_model`` model with outputs for every name in ``layers`` and
    ``style_layers``. The functions close over it; the module tracks only its ``tf.Variable``s, so the saved
    object graph holds no Keras objects.
    """
    layers = tuple(dict.fromkeys(layers))
    style_layers = tuple(dict.fromkeys(style_layers))
    missing = [name for name in layers + style_layers if name not in model.output_names]
    if missing:
        raise ConfigError(f"the feature model has no output for layer(s) {', '.join(missing)}")

    def run_model(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = model(images, training=False)
        return {name: tf.cast(outputs[name], tf.float32) for name in layers + style_layers}

    def grams(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = run_model(images)
        return {name: gram_matrix(outputs[name]) for name in style_layers}

    @tf.function(input_signature=[IMAGES_SPEC])
    def features(images):
        _check_images(images)
        outputs = run_model(images)
        return {name: outputs[name] for name in layers}

    @tf.function(input_signature=[IMAGES_SPEC])
    def gram(images):
        _check_images(images)
        return grams(images)

    channels = {name: model.output[name].shape[-1] for name in style_layers}

    @tf.function(input_signature=[IMAGE_BYTES_SPEC, MAX_SIZE_SPEC])
    def encoded(image_bytes, max_size):
        def one_image(data):
            return {name: g[0] for name, g in grams(decode_and_resize(data, max_size)[None]).items()}

        return tf.map_fn(
            one_image,
            image_bytes,
            fn_output_signature={name: tf.TensorSpec([c, c], tf.float32) for name, c in channels.items()},
        )

    module = tf.Module(name="vgg19_features")
    module.model_variables = [variable.value for variable in model.variables]
    module.features, module.gram, module.encoded = features, gram, encoded
    return module


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


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def _move_into_place(staged: str, target: str, overwrite: bool) -> None:
    """Rename the finished export ``staged`` to ``target``; an old ``target`` goes only once that worked."""
    if not os.path.lexists(target):
        os.rename(staged, target)  # fails, rather than merging, if another writer created target meanwhile
        return
    if not overwrite:
        raise ConfigError(f"{target}: version already exists; pass --overwrite to replace it")
    trash = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old-", dir=os.path.dirname(target))
    old = os.path.join(trash, "old")
    os.rename(target, old)
    try:
        os.rename(staged, target)
    except OSError:
        os.rename(old, target)  # put the old version back; if even that fails, it stays in trash
        os.rmdir(trash)
        raise
    _remove(trash)


def export_feature_extractor(
    export_dir: str | os.PathLike,
    config: StyleTransferConfig | None = None,
    version: int = 1,
    overwrite: bool = False,
    model: keras.Model | None = None,
) -> str:
    """Write the feature extractor to ``<export_dir>/<version>`` as a SavedModel; return that path.

    The layers and network follow ``config`` (default ``StyleTransferConfig()``): ``content_layers`` and
    ``style_layers`` (``serving_default`` outputs both, ``gram`` and ``encoded`` the style layers),
    ``weights`` and ``pooling``. ``model`` replaces the network built from ``config`` (for example one with
    random weights); it needs an output for every exported layer.

    The export is written into a temporary sibling directory and renamed into place, so ``<version>`` is
    never a partial export. An existing version is kept (ConfigError) unless ``overwrite``; then it is
    replaced only after the new export has succeeded. Raises ConfigError for a bad place or version (before
    any work), WeightsError for bad weights, ExportError when writing fails.
    """
    export_dir = os.fspath(export_dir)
    config = config or StyleTransferConfig()
    target = check_export_target(export_dir, version, overwrite)
    layers = exported_layers(config)
    if model is None:
        model = build_feature_model(layers, load_conv_weights(config.weights), config.pooling)
    module = build_serving_module(model, layers, config.style_layers)
    signatures = {
        "serving_default": module.features.get_concrete_function(),
        "gram": module.gram.get_concrete_function(),
        "encoded": module.encoded.get_concrete_function(),
    }
    parent = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(parent, exist_ok=True)
        staged = tempfile.mkdtemp(prefix=f".{version}.staging-", dir=parent)
    except OSError as err:
        raise ExportError(f"{export_dir}: cannot create directory ({err.strerror or err})") from None
    try:
        os.chmod(staged, 0o755)
        tf.saved_model.save(module, staged, signatures=signatures)
        _move_into_place(staged, target, overwrite)
    except ConfigError:
        raise
    except Exception as err:  # OSError, or TensorFlow's own error types
        message = str(err).splitlines()[0] if str(err) else ""
        raise ExportError(f"{target}: cannot write SavedModel ({type(err).__name__}: {message})") from err
    finally:
        _remove(staged)
    return target
