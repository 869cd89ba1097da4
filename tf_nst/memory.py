"""How much memory a run needs, estimated before it starts, and whether the machine has it.

The estimate counts what one optimisation step holds at its peak: every VGG activation of the forward pass up
to the deepest layer used (kept for the backward pass) in the compute precision, the backward pass's working
set, and the image with its gradient and optimizer state; plus the weights and the TensorFlow runtime; or, if
larger, the style image's forward pass. A factor measured on real runs covers the rest (allocator slack,
oneDNN scratch space). Calibration (TF 2.21, Linux x86-64, 2-core CPU; peak RSS of one process per run, a 4:3
photo, float32 and bfloat16, 256 to 2048 px): the estimate was 2% to 14% above the measured peak.

A level too large to evaluate whole runs in a leaner ``Mechanism``: the objective evaluated exactly in tiles
(``tf_nst.tiles``), where only one tile's activations exist at a time, then with a shorter L-BFGS history.
``tf_nst.plan`` picks, per level, the fastest that fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import InsufficientMemoryError
from tf_nst.layers import CONV_LAYERS, MIN_SIDE, VGG19_BLOCKS, VGG19_LAYERS, tile_halo

GB = 1 << 30
MB = 1 << 20
RUNTIME_BYTES = 700 * MB  # TensorFlow + Keras imported and the VGG-19 file loaded (all 16 conv layers)
OVERHEAD = 1.15  # (measured peak - runtime) / counted bytes was 1.0 to 1.13 at 512-2048 px
SLACK_BYTES = 64 * MB  # what small runs hold beyond the counted bytes
ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
CHANNELS = {block: channels for block, _, channels in VGG19_BLOCKS}
ADAM_IMAGES = 2  # Adam's state: two moments
LBFGS_FIXED_IMAGES = 8  # L-BFGS's state besides its pairs (see optimizer_images)
TILE = 1024  # tile interior, px
TILED_COST = 1.9  # seconds per evaluation in tiles of TILE px against plain's: 9.1-9.5 s against 4.9 s at 2048 px
# Tiled runs, fitted to VmHWM at 2048x1422 in bfloat16 (tiles of 1024 px with 20 and 10 pairs, 512 px with 5):
TILE_BYTES_PER_PIXEL = 132  # per pixel of a tile's crop and per byte of the compute precision's item
TILED_IMAGES_PER_PAIR = 2.75  # the pair's two images and the two-loop recursion's rows in flight
# Of a lean level's memory above the runtime, what TensorFlow's allocator kept and the next level could not
# reuse: a 2048 px level in tiles of 1024 px peaked at 4.2 GB alone, a 4096 px level in tiles of 512 px with
# Adam at 3.8 GB alone, the two in one run at 6.0 GB.
RETAINED = 0.6
MIN_HISTORY = 5  # the fewest L-BFGS pairs a lean level keeps
PREFERRED_SHARE = 0.4  # of the memory available, what a run without --memory_limit_mb keeps to when it can


@dataclass(frozen=True)
class Mechanism:
    """How a level is evaluated: whole (``tile`` None) or exactly in tiles of ``tile`` px (``tf_nst.tiles``),
    with ``history_size`` L-BFGS pairs or with ``optimizer`` (None: the configured ones)."""

    tile: int | None = None
    history_size: int | None = None
    optimizer: str | None = None

    @property
    def relative_cost(self) -> float:
        """Seconds per evaluation relative to plain's, at the same size (measured: bench/README.md)."""
        return 1.0 if self.tile is None else TILED_COST

    def configure(self, config: StyleTransferConfig) -> StyleTransferConfig:
        """``config`` with this mechanism's optimizer and history."""
        return config.replace(
            optimizer=self.optimizer or config.optimizer, history_size=self.history_size or config.history_size
        )

    def describe(self) -> str:
        """``plain``, or e.g. ``tiles of 1024 px, L-BFGS history 5``."""
        parts = [] if self.tile is None else [f"tiles of {self.tile} px"]
        parts += [] if self.history_size is None else [f"L-BFGS history {self.history_size}"]
        parts += [] if self.optimizer is None else [self.optimizer.replace("adam", "Adam")]
        return ", ".join(parts) or "plain"


PLAIN = Mechanism()


def mechanisms(optimizer: str, history_size: int) -> list[Mechanism]:
    """The ways to run a level, fastest first, each leaner than the one before: plain; tiles of ``TILE`` px;
    then (L-BFGS) with half the history each time down to ``MIN_HISTORY`` pairs; tiles of half the size; last,
    Adam's state of two images instead of L-BFGS's (the level starts from the level before's result, which
    Adam refines)."""
    lean = [Mechanism(TILE)]
    history = history_size // 2
    while optimizer == "lbfgs" and history >= MIN_HISTORY:
        lean.append(Mechanism(TILE, history))
        history //= 2
    lean.append(Mechanism(TILE // 2, lean[-1].history_size))
    if optimizer == "lbfgs":
        lean.append(Mechanism(TILE // 2, optimizer="adam"))
    return [PLAIN, *lean]


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
    return ADAM_IMAGES if optimizer == "adam" else 2 * history_size + LBFGS_FIXED_IMAGES


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
) -> int:
    """Estimated peak memory of a run on a ``size`` = (width, height) output with a ``style_size`` style image.

    ``layers``: the content and style layers; ``precision``: ``float32`` | ``bfloat16`` | ``float16``;
    ``optimizer_state``: the optimizer's image-sized buffers (``optimizer_images``). With ``tile``, the
    objective is evaluated in tiles of that many px (``tf_nst.tiles``): the activations are one tile's with its
    halo, and the whole image's gradient and the ``content_layers``' targets are held as well. On ``"CPU"`` it
    is the process's peak resident memory; on ``"GPU"`` the device memory (no runtime share).
    """
    deepest = max(layers, key=CONV_LAYERS.index)
    itemsize = ITEMSIZE[precision]

    def forward(width: int, height: int) -> tuple[int, int, int]:
        elements = layer_elements(height, width, deepest)
        return sum(elements.values()), max(elements.values()), sum(elements[name] for name in set(layers))

    image = 3 * size[0] * size[1] * 4  # one float32 image
    halo, _ = tile_halo(layers)
    if tile is None:
        every, largest, _ = forward(*size)
        step = (
            every * itemsize  # activations kept for the backward pass
            + largest * (2 * itemsize + 4)  # working set: incoming and outgoing gradient, a float32 copy for a loss
            + (3 + optimizer_state) * image  # image, gradient, the clipped copy, optimizer state
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
    _, largest, outputs = forward(*(min(side, TILE + 2 * halo) for side in style_size))  # in tiles of TILE px
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
