"""How much memory a run needs, estimated before it starts, and whether the machine has it.

The estimate counts what one optimisation step holds at its peak: every VGG activation of the forward pass up
to the deepest layer used (kept for the backward pass) in the compute precision, the backward pass's working
set, and the image with its gradient and optimizer state; plus the weights and the TensorFlow runtime; or, if
larger, the style image's forward pass. A factor measured on real runs covers the rest (allocator slack,
oneDNN scratch space). Calibration (TF 2.21, Linux x86-64, 2-core CPU; peak RSS of one process per run, a 4:3
photo, float32 and bfloat16, 256 to 2048 px): the estimate was 2% to 14% above the measured peak.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tf_nst.errors import InsufficientMemoryError
from tf_nst.layers import CONV_LAYERS, MIN_SIDE, VGG19_BLOCKS, VGG19_LAYERS

GB = 1 << 30
MB = 1 << 20
RUNTIME_BYTES = 700 * MB  # TensorFlow + Keras imported and the VGG-19 file loaded (all 16 conv layers)
OVERHEAD = 1.15  # (measured peak - runtime) / counted bytes was 1.0 to 1.13 at 512-2048 px
SLACK_BYTES = 64 * MB  # what small runs hold beyond the counted bytes
ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
CHANNELS = {block: channels for block, _, channels in VGG19_BLOCKS}


def layer_elements(height: int, width: int, deepest: str) -> dict[str, int]:
    """Elements of each VGG-19 conv and pool output for one ``height`` x ``width`` image, up to ``deepest``."""
    sizes = {}
    for name in VGG19_LAYERS:
        block = int(name[5])
        pools = block if "pool" in name else block - 1
        sizes[name] = (height >> pools) * (width >> pools) * CHANNELS[block]
        if name == deepest:
            break
    return sizes


def conv_parameters(deepest: str) -> int:
    """Weights and biases of the VGG-19 conv layers up to ``deepest``."""
    total, inputs = 0, 3
    for name in CONV_LAYERS[: CONV_LAYERS.index(deepest) + 1]:
        channels = CHANNELS[int(name[5])]
        total += 9 * inputs * channels + channels
        inputs = channels
    return total


def optimizer_images(optimizer: str, history_size: int) -> int:
    """Image-sized float32 buffers an optimizer keeps: Adam's two moments; L-BFGS's position and gradient
    changes (two images per pair, ``history_size`` pairs), and eight more: its previous position and gradient,
    the two-loop recursion's working vectors, the direction and the step. Measured (VmHWM, 3 evaluations,
    bfloat16): going from 2 to 20 pairs added 2.0 images per pair at 1024 px and 1.98 at 2048 px (bench/README.md)."""
    return 2 if optimizer == "adam" else 2 * history_size + 8


def peak_bytes(
    size: tuple[int, int],
    style_size: tuple[int, int],
    layers: Sequence[str],
    precision: str,
    device: str = "CPU",
    optimizer_state: int = 2,
) -> int:
    """Estimated peak memory of a run on a ``size`` = (width, height) output with a ``style_size`` style image.

    ``layers``: the content and style layers; ``precision``: ``float32`` | ``bfloat16`` | ``float16``;
    ``optimizer_state``: the optimizer's image-sized buffers (``optimizer_images``). On ``"CPU"`` it is the
    process's peak resident memory; on ``"GPU"`` the device memory (no runtime share).
    """
    deepest = max(layers, key=CONV_LAYERS.index)
    itemsize = ITEMSIZE[precision]

    def forward(width: int, height: int) -> tuple[int, int, int]:
        elements = layer_elements(height, width, deepest)
        return sum(elements.values()), max(elements.values()), sum(elements[name] for name in set(layers))

    every, largest, _ = forward(*size)
    step = (
        every * itemsize  # activations kept for the backward pass
        + largest * (2 * itemsize + 4)  # working set: incoming and outgoing gradient, a float32 copy for a loss
        + (3 + optimizer_state) * 3 * size[0] * size[1] * 4  # image, gradient, the clipped copy, optimizer state
    )
    _, largest, outputs = forward(*style_size)
    targets = (2 * largest + outputs) * itemsize + largest * 4  # style forward pass: no gradient, outputs kept
    parameters = conv_parameters(deepest) * (4 + itemsize)  # float32 variables and their cast copies
    runtime = RUNTIME_BYTES if device == "CPU" else 0
    return int(runtime + parameters + SLACK_BYTES + OVERHEAD * max(step, targets))


def largest_fitting(estimate: Callable[[int], int], limit: int, upper: int) -> int | None:
    """The largest longest side in [32, ``upper``] whose ``estimate`` (bytes, growing with the side) is at most
    ``limit``; None if not even 32 px fits."""
    if estimate(MIN_SIDE) > limit:
        return None
    low, high = MIN_SIDE, upper  # estimate(low) fits; find the last side that fits
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if estimate(middle) <= limit else (low, middle - 1)
    return low


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


def check_fits(
    estimate: Callable[[int], int],
    max_size: int,
    budget: MemoryBudget,
    precision: str,
    smaller_estimate: Callable[[int], int] | None = None,
) -> int:
    """Return ``estimate(max_size)`` in bytes, or raise InsufficientMemoryError if it is over ``budget``.

    The message names the largest ``--max_size`` that fits, and with ``smaller_estimate`` (the same run in
    bfloat16) how large bfloat16 would allow.
    """
    needed = estimate(max_size)
    if budget.limit is None or needed <= budget.limit:
        return needed
    largest = largest_fitting(estimate, budget.limit, max_size)
    if largest is None:
        advice = "raise --memory_limit_mb" if "memory_limit_mb" in budget.source else "free some memory"
        fits = f"not even {MIN_SIDE} px fits ({advice})"
    else:
        fits = f"the largest --max_size that fits is {largest}"
        reduced = largest_fitting(smaller_estimate, budget.limit, max_size) if smaller_estimate else None
        if reduced == max_size:
            fits += "; it fits with --precision=bfloat16"
        elif reduced and reduced > largest:
            fits += f"; with --precision=bfloat16, {reduced}"
    raise InsufficientMemoryError(
        f"--max_size={max_size}: needs about {_gb(needed)} at {precision}, more than the {_gb(budget.limit)} "
        f"{budget.source}; {fits}"
    )


def _gb(size: int) -> str:
    return f"{size / GB:.1f} GB" if size >= GB else f"{math.ceil(size / MB)} MB"
