"""Scale-out on Apache Beam: each image is an independent optimisation, so a pipeline stylizes millions.

``StylizeImages`` is the ``PTransform`` (paths in; ``StylizeOutputs``, results and failures, out: see
``tf_nst.beam.transform``); ``python -m tf_nst.beam`` is its command line, on any Beam runner (the DaskRunner
with ``pip install 'tf_nst[dask]'``; ``tf_nst.beam.local_cluster`` starts a Dask cluster on this machine).
Both need ``pip install 'tf_nst[beam]'``; Apache Beam is imported on first use of a name, not with this package.
"""

from __future__ import annotations

import importlib

__all__ = ["FAILED", "FAILURES_FILE", "STYLIZED", "StylizeImages", "StylizeOutputs", "WriteFailures", "output_path"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("tf_nst.beam.transform"), name)
    raise AttributeError(f"module 'tf_nst.beam' has no attribute {name!r}")
