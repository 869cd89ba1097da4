"""VGG-19's layer table and the smallest image side it takes: what configuration and planning need to know of
the network without building it (no TensorFlow here; ``tf_nst.features`` builds the model)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

from tf_nst.errors import ConfigError

# (block, number of convs, channels) of VGG-19's convolutional part.
VGG19_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
VGG19_LAYERS = tuple(
    name
    for block, convs, _ in VGG19_BLOCKS
    for name in [f"block{block}_conv{i}" for i in range(1, convs + 1)] + [f"block{block}_pool"]
)
CONV_LAYERS = tuple(name for name in VGG19_LAYERS if "conv" in name)
BLOCK_CHANNELS = {block: channels for block, _, channels in VGG19_BLOCKS}  # {block: output channels}
MIN_SIDE = 32  # smallest image side, in pixels: five 2x2 poolings leave at least one feature row
BELOW_MIN_SIDE = f"is below the {MIN_SIDE}x{MIN_SIDE} minimum"  # how a too small image is refused: "WxH px ..."


def layer_channels(name: str) -> int:
    """Output channels of VGG-19 layer ``name`` (a conv layer's, or the pooled one's)."""
    return BLOCK_CHANNELS[int(name[5])]


def layer_stride(name: str) -> int:
    """Input pixels per feature position at VGG-19 layer ``name``: 2 ** (pools before it)."""
    return 2 ** (int(name[5]) if "pool" in name else int(name[5]) - 1)


def receptive_radius(deepest: str) -> int:
    """Pixels on each side of a position of layer ``deepest`` that its feature depends on (3x3 convolutions,
    2x2 poolings of stride 2)."""
    field, jump = 1, 1
    for name in VGG19_LAYERS:
        field += jump if "pool" in name else 2 * jump
        jump *= 2 if "pool" in name else 1
        if name == deepest:
            break
    return math.ceil((field - 1) / 2)


def tile_halo(layers: Sequence[str]) -> tuple[int, int]:
    """(halo, alignment) in pixels for tiles of an image evaluated at ``layers``: the receptive radius of the
    deepest, rounded up to the alignment, which is the deepest layer's stride (so pooling windows line up)."""
    deepest = max(layers, key=VGG19_LAYERS.index)
    align = layer_stride(deepest)
    return math.ceil(receptive_radius(deepest) / align) * align, align


def wrap_step(layers: Sequence[str]) -> int:
    """The side, px, that an image's sides must be multiples of for the features of ``layers`` to wrap around
    exactly (``tf_nst.features``' circular padding): the deepest layer's stride, so that every pooling sees an
    even size."""
    return layer_stride(max(layers, key=VGG19_LAYERS.index))


def tileable_size(size: tuple[int, int], layers: Sequence[str]) -> tuple[int, int]:
    """``size`` (width, height) with each side rounded down to a multiple of ``wrap_step(layers)`` (never below
    one step): an image of it repeats without a seam in the network's eyes."""
    step = wrap_step(layers)
    return tuple(max(step, side // step * step) for side in size)


def check_layer_names(names: Sequence[str], flag: str = "layers") -> None:
    """Raise ConfigError naming any layer that is not a VGG-19 conv layer."""
    for name in names:
        if name not in CONV_LAYERS:
            near = difflib.get_close_matches(name, CONV_LAYERS, n=1, cutoff=0.6)
            hint = (
                f"did you mean {near[0]}?" if near else f"VGG-19 conv layers are {CONV_LAYERS[0]} ... {CONV_LAYERS[-1]}"
            )
            raise ConfigError(f"--{flag}: unknown layer '{name}' ({hint})")
