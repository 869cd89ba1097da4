"""Benchmarks of tf_nst, run from the checkout as ``python -m bench.<name>``; bench/README.md says how to run each
and what they measured. ``bench.common`` holds what they share; ``bench.experiments`` the scripts that answered
one question once.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no C++ start-up chatter
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: the judge's eigh ran 15x slower threaded
