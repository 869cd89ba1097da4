"""How much memory a run needs, counted before it starts, and how much the machine has.

The count is of what one optimisation step holds at its peak: every VGG activation of the forward pass up
to the deepest layer used (kept for the backward pass) in the compute precision, the backward pass's working
set, and the image with its gradient and optimizer state; plus the weights and the TensorFlow runtime; or, if
larger, the style image's forward pass. A factor measured on real runs covers the rest (allocator slack,
oneDNN scratch space). Calibration (TF 2.21, Linux x86-64, 2-core CPU; peak RSS of one process per run, a 4:3
photo, float32 and bfloat16, 256 to 2048 px): the estimate was 2% to 14% above the measured peak.

A level evaluated in tiles (``tf_nst.tiles``) holds one tile's activations at a time; ``tf_nst.planning``
decides how each level runs and checks the counts against the ``MemoryBudget``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tf_nst.layers import CONV_LAYERS, VGG19_LAYERS, layer_channels, tile_halo

GB = 1 << 30
MB = 1 << 20
RUNTIME_BYTES = 700 * MB  # TensorFlow + Keras imported and the VGG-19 file loaded (all 16 conv layers)
OVERHEAD = 1.15  # (measured peak - runtime) / counted bytes was 1.0 to 1.13 at 512-2048 px
SLACK_BYTES = 64 * MB  # what small runs hold beyond the counted bytes
ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
ADAM_IMAGES = 2  # Adam's state: two moments
LBFGS_FIXED_IMAGES = 8  # L-BFGS's state besides its pairs (see optimizer_images)
# A style image longer than this is read in tiles of this many px, its statistics summed over them
# (``tf_nst.planning.style_tile``): its forward pass then holds one tile's activations.
STYLE_TILE = 1024
# Tiled runs, fitted to VmHWM at 2048x1422 in bfloat16 (tiles of 1024 px with 20 and 10 pairs, 512 px with 5):
TILE_BYTES_PER_PIXEL = 132  # per pixel of a tile's crop and per byte of the compute precision's item
TILED_IMAGES_PER_PAIR = 2.75  # the pair's two images and the two-loop recursion's rows in flight
# float32 hypercolumn grids a plain step holds (see peak_bytes); fitted to VmHWM at 2048x1422 in bfloat16, where
# the term held 3.64 GB more than a run without it (4 grids counted 2.99 GB)
HYPERCOLUMN_COPIES = 5
PREFERRED_SHARE = 0.4  # of the memory available, what a run without --memory_limit_mb keeps to when it can


def layer_elements(height: int, width: int, deepest: str) -> dict[str, int]:
    """Elements of each VGG-19 conv and pool output for one ``height`` x ``width`` image, up to ``deepest``."""
    sizes = {}
    for name in VGG19_LAYERS:
        block = int(name[5])
        pools = block if "pool" in name else block - 1
        sizes[name] = (height >> pools) * (width >> pools) * layer_channels(name)
        if name == deepest:
            break
    return sizes


def conv_parameters(deepest: str) -> int:
    """Weights and biases of the VGG-19 conv layers up to ``deepest``."""
    total, inputs = 0, 3
    for name in CONV_LAYERS[: CONV_LAYERS.index(deepest) + 1]:
        channels = layer_channels(name)
        total += 9 * inputs * channels + channels
        inputs = channels
    return total


def optimizer_images(optimizer: str, history_size: int, parameterization: str = "pixels") -> int:
    """Image-sized float32 buffers an optimizer keeps: Adam's two moments; L-BFGS's position and gradient
    changes (two images per pair, ``history_size`` pairs), and eight more: its previous position and gradient,
    the two-loop recursion's working vectors, the direction and the step. Measured (VmHWM, 3 evaluations,
    bfloat16): going from 2 to 20 pairs added 2.0 images per pair at 1024 px and 1.98 at 2048 px (bench/README.md).
    A ``pyramid`` (``tf_nst.parameterization``) makes each buffer its coefficients, 4/3 of an image, and adds the
    coefficients, their gradient and the image made from them (counted, not calibrated)."""
    images = ADAM_IMAGES if optimizer == "adam" else 2 * history_size + LBFGS_FIXED_IMAGES
    return math.ceil(images * 4 / 3) + 3 if parameterization == "pyramid" else images


def lbfgs_pairs(optimizer_state: int) -> int:
    """The L-BFGS pairs in ``optimizer_state`` image buffers (``optimizer_images``'s inverse; 0 for Adam)."""
    return (optimizer_state - LBFGS_FIXED_IMAGES) // 2 if optimizer_state > ADAM_IMAGES else 0


def peak_bytes(
    size: tuple[int, int],
    style_size: tuple[int, int],
    layers: Sequence[str],
    precision: str,
    device: str = "CPU",
    optimizer_state: int = 2,
    tile: int | None = None,
    content_layers: Sequence[str] = (),
    wrap: bool = False,
    hypercolumn_depth: int = 0,
) -> int:
    """Estimated peak memory of a run on a ``size`` = (width, height) output with a ``style_size`` style image.

    ``layers``: the content and style layers; ``precision``: ``float32`` | ``bfloat16`` | ``float16``;
    ``optimizer_state``: the optimizer's image-sized buffers (``optimizer_images``). With ``tile``, the
    objective is evaluated in tiles of that many px (``tf_nst.tiles``): the activations are one tile's with its
    halo, and the whole image's gradient and the ``content_layers``' targets are held as well. A style image
    above ``STYLE_TILE`` px counts one tile's forward pass. On ``"CPU"`` it is the process's peak resident
    memory; on ``"GPU"`` the device memory (no runtime share). ``wrap`` (a tileable run, plain only): every
    convolution's input is kept padded as well (counted, not calibrated). ``hypercolumn_depth``: the channels of
    the hypercolumn target (``tf_nst.hypercolumns``; plain only, 0 without it), whose target, the image's
    hypercolumns, their unit copy and gradient are held on a grid of a quarter of each side (fitted at 2048 px).
    """
    deepest = max(layers, key=CONV_LAYERS.index)
    itemsize = ITEMSIZE[precision]

    def forward(width: int, height: int) -> tuple[int, int, int]:
        elements = layer_elements(height, width, deepest)
        every = sum(elements.values())
        if wrap:  # the padded copy of each convolution's input: the image, and each output but the deepest's
            every += 3 * width * height + every - elements[deepest]
        return every, max(elements.values()), sum(elements[name] for name in set(layers))

    image = 3 * size[0] * size[1] * 4  # one float32 image
    halo, _ = tile_halo(layers)
    if tile is None:
        every, largest, _ = forward(*size)
        step = (
            every * itemsize  # activations kept for the backward pass
            + largest * (2 * itemsize + 4)  # working set: incoming and outgoing gradient, a float32 copy for a loss
            + (3 + optimizer_state) * image  # image, gradient, the clipped copy, optimizer state
            + HYPERCOLUMN_COPIES * (size[0] // 4) * (size[1] // 4) * hypercolumn_depth * 4
        )
    else:
        crop = min(size[0], tile + 2 * halo) * min(size[1], tile + 2 * halo)
        elements = layer_elements(size[1], size[0], deepest)
        targets = sum(elements[name] for name in set(content_layers)) * 4 / image  # content targets, in images
        pairs = lbfgs_pairs(optimizer_state)
        fixed = optimizer_state - 2 * pairs
        step = (
            crop * TILE_BYTES_PER_PIXEL * itemsize  # one tile's forward and backward pass
            # image, gradient, its assembly, the clipped copy, total variation's; content targets made and kept
            + (5 + 2 * targets + fixed + TILED_IMAGES_PER_PAIR * pairs) * image
        )
    _, largest, outputs = forward(*(min(side, STYLE_TILE + 2 * halo) for side in style_size))  # see STYLE_TILE
    targets = (2 * largest + outputs) * itemsize + largest * 4  # style forward pass: no gradient, outputs kept
    parameters = conv_parameters(deepest) * (4 + itemsize)  # float32 variables and their cast copies
    runtime = RUNTIME_BYTES if device == "CPU" else 0
    return int(runtime + parameters + SLACK_BYTES + OVERHEAD * max(step, targets))


def _proc_kib(path: str, field: str) -> int | None:
    """The ``field:`` line of a Linux /proc file given in kB, in bytes; None where it cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def meminfo_available(meminfo: str = "/proc/meminfo") -> int | None:
    """MemAvailable of Linux's ``meminfo`` in bytes; None where it cannot be read."""
    return _proc_kib(meminfo, "MemAvailable")


def resident_bytes(status: str = "/proc/self/status") -> int:
    """This process's resident memory (VmRSS) in bytes; 0 where it cannot be read."""
    return _proc_kib(status, "VmRSS") or 0


def gpu_memory_limit() -> int | None:
    """Bytes TensorFlow may allocate on its first GPU; None without a GPU or where TF does not say."""
    try:
        from tensorflow.python.client import device_lib

        limits = [d.memory_limit for d in device_lib.list_local_devices() if d.device_type == "GPU"]
    except Exception:  # an internal module: treat any change in it as "unknown"
        return None
    return int(limits[0]) if limits else None


@dataclass(frozen=True)
class MemoryBudget:
    """What a run may use: ``limit`` bytes (None: unknown, no check); ``source`` says whose limit it is, as in
    "12 GB available" or "1 GB allowed by --memory_limit_mb"."""

    limit: int | None
    source: str
    device: str  # "CPU" or "GPU"

    @property
    def preferred(self) -> int | None:
        """What a run keeps to when a leaner way of running it fits: all of a --memory_limit_mb, else
        ``PREFERRED_SHARE`` of the limit, so that a large run leaves the rest of the machine room to work."""
        if self.limit is None or "memory_limit_mb" in self.source:
            return self.limit
        return int(PREFERRED_SHARE * self.limit)


def memory_budget(limit_mb: int | None, on_gpu: bool) -> MemoryBudget:
    """``limit_mb`` if given, else what this machine has: on a GPU, TensorFlow's limit for it; on the CPU,
    MemAvailable plus the part of the estimate this process already holds (the runtime, once imported)."""
    device = "GPU" if on_gpu else "CPU"
    if limit_mb is not None:
        return MemoryBudget(limit_mb * MB, "allowed by --memory_limit_mb", device)
    if on_gpu:
        return MemoryBudget(gpu_memory_limit(), "on the GPU", device)
    available = meminfo_available()
    if available is None:
        return MemoryBudget(None, "unknown", device)
    return MemoryBudget(available + min(resident_bytes(), RUNTIME_BYTES), "available", device)
