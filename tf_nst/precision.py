"""Which number format the feature model computes in, and why.

The VGG convolutions may run in bfloat16 or float16 (a Keras mixed-precision dtype policy on each layer, never a
global policy); the image variable, Gram matrices, losses and optimizer state stay float32 whatever is chosen.
``auto`` picks bfloat16 where the hardware runs it fast: a CPU with AMX-BF16 or AVX512-BF16 instructions, or a
GPU of compute capability 8.0 or newer; float32 elsewhere. It never picks float16 (slow or missing on CPUs, and
its narrow range needs loss scaling).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
DTYPE_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
BF16_CPU_FLAGS = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}
BF16_GPU_CAPABILITY = (8, 0)


@dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision (``float32`` | ``bfloat16`` | ``float16``) and a short reason for the log."""

    precision: str
    reason: str

    @property
    def dtype_policy(self) -> str:
        """The Keras dtype policy of the feature model's layers, e.g. ``"mixed_bfloat16"``."""
        return DTYPE_POLICIES[self.precision]


def choose_precision(
    requested: str, cpu_flags: Collection[str], gpu_capabilities: Sequence[tuple[int, int]]
) -> PrecisionChoice:
    """Resolve ``requested`` (one of ``PRECISIONS``) for a machine described by its arguments.

    ``cpu_flags``: the CPU's feature flags as in /proc/cpuinfo (e.g. ``{"avx512_bf16", ...}``);
    ``gpu_capabilities``: ``(major, minor)`` compute capability of each GPU TensorFlow sees (empty: CPU only;
    TensorFlow then computes on the first GPU, so only that one counts).
    """
    if requested != "auto":
        return PrecisionChoice(requested, "as requested")
    if gpu_capabilities:
        capability = tuple(gpu_capabilities[0])
        shown = ".".join(map(str, capability))
        if capability >= BF16_GPU_CAPABILITY:
            return PrecisionChoice("bfloat16", f"GPU of compute capability {shown} runs bfloat16 fast")
        return PrecisionChoice("float32", f"GPU of compute capability {shown} is below 8.0, no fast bfloat16")
    found = [name for flag, name in BF16_CPU_FLAGS.items() if flag in cpu_flags]
    if found:
        return PrecisionChoice("bfloat16", f"CPU has {' and '.join(found)}")
    return PrecisionChoice("float32", "CPU has neither AMX-BF16 nor AVX512-BF16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags from ``cpuinfo`` (Linux); empty where that file does not exist."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def gpu_capabilities() -> list[tuple[int, int]]:
    """Compute capability ``(major, minor)`` of each GPU TensorFlow sees; empty without one, (0, 0) if unknown."""
    import tensorflow as tf

    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(device).get("compute_capability")
        capabilities.append(tuple(capability) if capability else (0, 0))  # (0, 0): not reported (not CUDA)
    return capabilities


def resolve_precision(requested: str) -> PrecisionChoice:
    """``choose_precision`` for this machine (reads /proc/cpuinfo and TensorFlow's GPU details)."""
    if requested != "auto":
        return choose_precision(requested, (), ())
    return choose_precision(requested, cpu_flags(), gpu_capabilities())
