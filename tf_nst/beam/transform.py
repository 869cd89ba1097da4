"""``StylizeImages``: a Beam ``PTransform`` that stylizes image files, one independent optimisation each.

Inputs are file paths on any Beam filesystem (local; ``gs://`` or ``s3://`` where Beam has those extras). Each
input ``dir/name.ext`` is written as PNG to ``output_dir/name.png``, with the CLI's decoding, optimisation and
quantization, so a result has the CLI's pixels for the same image, styles, config and machine.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils.shared import Shared

from tf_nst.api import Stylizer
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ImageError, Interrupted, TfNstError, first_line
from tf_nst.io.atomic import FileSystem, write_file
from tf_nst.io.images import encode_image, load_image
from tf_nst.seeding import seed_run

STYLIZED = "stylized"  # output: (input path, output path)
FAILED = "failed"  # output: (input path, one-line error)
FAILURES_FILE = "failures.jsonl"
METRICS_NAMESPACE = "tf_nst"

log = logging.getLogger(__name__)


def read_bytes(path: str) -> bytes:
    """The bytes of the file at ``path``, on any Beam filesystem; OSError (BeamIOError) if it cannot be read."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return f.read()


def read_pixels(path: str, max_pixels: int) -> np.ndarray:
    """The image at ``path`` as float32 ``[H, W, 3]`` in [0, 1], decoded as ``tf_nst.load_image`` decodes a
    local file. Raises ImageError naming ``path`` for a file that cannot be read or decoded."""
    try:
        data = read_bytes(path)
    except OSError as err:
        raise ImageError(f"{path}: cannot read ({first_line(err)})") from None
    return load_image(path, max_pixels=max_pixels, data=data)[0]


def write_atomically(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    """Write ``data`` to ``path`` on any Beam filesystem, atomically (``tf_nst.io.atomic``), so a retried or
    killed worker leaves the old file or the complete new one, never a partial one."""

    def create(temporary: str, data: bytes) -> None:
        with FileSystems.create(temporary, mime_type, CompressionTypes.UNCOMPRESSED) as f:
            f.write(data)

    beam_files = FileSystem(
        FileSystems.split,
        FileSystems.join,
        create,
        lambda source, target: FileSystems.rename([source], [target]),
        lambda temporary: FileSystems.delete([temporary]),
    )
    write_file(path, data, beam_files)


def output_path(input_path: str, output_dir: str) -> str:
    """``output_dir/<input file stem>.png``."""
    name = FileSystems.split(input_path)[1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return FileSystems.join(output_dir, stem + ".png")


def failure_record(input_path: str, error: str) -> str:
    """One line of ``failures.jsonl``: ``{"input": path, "error": message}``."""
    return json.dumps({"input": input_path, "error": error}, ensure_ascii=False)


class _KeyByOutput(beam.DoFn):
    def __init__(self, output_dir: str):
        self.output_dir = output_dir

    def process(self, path: str) -> Iterator[tuple[str, str]]:
        yield output_path(path, self.output_dir), path


def _build_stylizer(styles: Sequence[str], config: StyleTransferConfig) -> Stylizer:
    """Seed as the CLI does, decode the styles and build the feature model."""
    start = time.perf_counter()
    seed_run(config)
    stylizer = Stylizer([read_pixels(path, config.max_input_pixels) for path in styles], config)
    log.info("set up the stylizer in process %d in %.1fs", os.getpid(), time.perf_counter() - start)
    return stylizer


class _StylizeFn(beam.DoFn):
    """Stylizes the inputs of one output name (all but the first, in sorted order, fail as duplicates).

    Yields ``(STYLIZED, input, output)`` or ``(FAILED, input, error)``: one output, not tagged outputs, which
    Beam's DaskRunner merges into one collection. The stylizer is shared by every instance in a process
    (Beam's ``Shared``): the DaskRunner calls ``setup`` once per bundle, not once per worker.
    """

    def __init__(self, styles: Sequence[str], config: StyleTransferConfig, skip_existing: bool = False):
        self.styles = list(styles)
        self.config = config
        self.skip_existing = skip_existing
        self.shared = Shared()
        self.stylized = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "stylized")
        self.skipped = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "skipped")
        self.failed = beam.metrics.Metrics.counter(METRICS_NAMESPACE, "failed")

    def setup(self) -> None:
        """Once per worker process: the stylizer, built by the first instance there."""
        self.stylizer = self.shared.acquire(lambda: _build_stylizer(self.styles, self.config))

    def process(self, element: tuple[str, Iterable[str]]) -> Iterator[tuple[str, str, str]]:
        output, paths = element
        first, *others = sorted(paths)
        for other in others:
            self.failed.inc()
            yield FAILED, other, f"{first} is written to the same output, {output}"
        if self.skip_existing and FileSystems.exists(output):
            self.skipped.inc()
            log.info("kept %s from an earlier run", output)
            yield STYLIZED, first, output
            return
        try:
            self.stylize(first, output)
        except Interrupted:
            raise
        except (TfNstError, OSError) as err:
            self.failed.inc()
            message = first_line(err)
            message = message[len(first) + 2 :] if message.startswith(f"{first}: ") else message
            log.warning("failed %s: %s", first, message)
            yield FAILED, first, message
            return
        self.stylized.inc()
        yield STYLIZED, first, output

    def stylize(self, path: str, output: str) -> None:
        """Stylize ``path`` into ``output`` (PNG, written atomically)."""
        if path == output:
            raise ImageError(f"{path}: is its own output file; choose another output directory")
        start = time.perf_counter()
        pixels = read_pixels(path, self.config.max_input_pixels)
        tf.keras.utils.set_random_seed(self.config.seed)  # the same random state whatever this worker ran before
        image = self.stylizer(pixels)
        try:
            write_atomically(output, encode_image(image, "PNG"), "image/png")
        except OSError as err:
            raise ImageError(f"{output}: cannot write ({first_line(err)})") from None
        log.info("wrote %s from %s in %.1fs in process %d", output, path, time.perf_counter() - start, os.getpid())


def _of_kind(record: tuple[str, str, str], kind: str) -> Iterator[tuple[str, str]]:
    if record[0] == kind:
        yield record[1:]


class StylizeOutputs(NamedTuple):
    """``StylizeImages``' outputs: ``stylized``, ``(input path, output path)`` per written (or, with
    ``skip_existing``, kept) image, and ``failed``, ``(input path, one-line error)``."""

    stylized: beam.PCollection
    failed: beam.PCollection


class StylizeImages(beam.PTransform):
    """Stylize a PCollection of image paths with ``style`` (one path or several, on any Beam filesystem).

    Each input is written to ``output_dir/<input file stem>.png``. Returns ``StylizeOutputs``: ``stylized``,
    ``(input path, output path)`` per written image, and ``failed``, ``(input path, one-line error)`` per input
    that could not be read, decoded, stylized or written, or whose output name another input (earlier in sorted
    order) takes. With ``skip_existing``, an input whose output exists (from an earlier run: writes are atomic,
    so it is complete) is not stylized again and counts as written. A bad input never fails the pipeline; a bad
    style fails every worker (check styles before launching, as ``python -m tf_nst.beam`` does).

    >>> out = paths | StylizeImages("gs://bucket/starry.jpg", StyleTransferConfig(steps=300), "gs://bucket/out")
    >>> out.stylized, out.failed

    Each worker process builds the feature model and decodes the styles once; style targets and compiled steps
    are reused for every image of the same size.
    """

    def __init__(
        self,
        style: str | Sequence[str],
        config: StyleTransferConfig,
        output_dir: str,
        skip_existing: bool = False,
    ):
        super().__init__()
        self.styles = [style] if isinstance(style, str) else list(style)
        self.config = config
        self.output_dir = output_dir
        self.skip_existing = skip_existing

    def expand(self, paths) -> StylizeOutputs:
        records = (
            paths
            | "KeyByOutputName" >> beam.ParDo(_KeyByOutput(self.output_dir))
            | "GroupByOutputName" >> beam.GroupByKey()  # also spreads the inputs of one glob over the workers
            | "Stylize" >> beam.ParDo(_StylizeFn(self.styles, self.config, self.skip_existing))
        )
        return StylizeOutputs(
            records | "Stylized" >> beam.FlatMap(_of_kind, STYLIZED),
            records | "Failed" >> beam.FlatMap(_of_kind, FAILED),
        )


def _write_failures(keyed: tuple[int, Iterable[tuple[str, str] | None]], path: str) -> None:
    lines = [failure_record(*failure) + "\n" for failure in sorted(f for f in keyed[1] if f is not None)]
    write_atomically(path, "".join(lines).encode("utf-8"), "application/x-ndjson")


class WriteFailures(beam.PTransform):
    """Write ``(input path, error)`` pairs to one JSON-lines file at ``path``, sorted by input, atomically;
    an empty file when there are none.

    The failures meet one ``None`` under one key in a GroupByKey, so that there is one group even without any.
    (A combiner's default would need a side input, which the DaskRunner computes from inside a task, as a graph
    of its own submitted from that worker, rather than as part of the pipeline's graph.)
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def expand(self, failures):
        none = failures.pipeline | "None" >> beam.Create([None])
        return (
            (none, failures)
            | "Together" >> beam.Flatten()
            | "Key" >> beam.Map(lambda failure: (0, failure))
            | "Collect" >> beam.GroupByKey()
            | "Write" >> beam.Map(_write_failures, self.path)
        )
