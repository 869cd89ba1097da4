"""Command line of the Beam pipeline: stylize every file of a glob, on any Beam runner.

    python -m tf_nst.beam --input='photos/*.jpg' --style=starry.jpg --output_dir=painted --steps=300
    python -m tf_nst.beam ... --direct_num_workers=2 --direct_running_mode=multi_processing
    python -m tf_nst.beam ... --runner=DaskRunner --dask_client_address=tcp://SCHEDULER:8786
    python -m tf_nst.beam --input='gs://b/photos/*' --style=gs://b/starry.jpg --output_dir=gs://b/painted \\
        --runner=DataflowRunner --project=P --region=R --temp_location=gs://b/tmp --extra_package=tf_nst-....whl

It takes the CLI's stylization flags (``StyleTransferConfig``'s, made by ``tf_nst.cli.flags``) and its own
``--input``, ``--style``, ``--output_dir``, ``--overwrite`` and ``--skip_existing``; every other flag is a Beam
pipeline option (the DirectRunner by default).
It writes ``output_dir/<input file stem>.png`` per input and ``output_dir/failures.jsonl``, one
``{"input": ..., "error": ...}`` line per input that failed. Exit status: 0 when every input was written, 1 when
any failed or the pipeline did, 2 for a usage error; each error is one line on stderr with no traceback.
Flags are read here and in ``tf_nst.cli.main``, nowhere else.
"""

from __future__ import annotations

import importlib.util
import json
import logging as std_logging
import operator
import os

from absl import app, flags, logging

from tf_nst.quiet import native_stderr_silenced, root_warnings_silenced, tensorflow_start_silenced

with tensorflow_start_silenced():  # keep TensorFlow's start-up chatter off the terminal
    import tensorflow  # noqa: F401  (imported here, where its start-up is silenced)

    from tf_nst.cli.flags import define_flags, fail, from_flags
    from tf_nst.config import StyleTransferConfig
    from tf_nst.errors import TfNstError, UsageError, exit_status, first_line
try:
    with native_stderr_silenced(), root_warnings_silenced():
        import apache_beam as beam
except ImportError:
    fail("Apache Beam is not installed: pip install 'tf_nst[beam]'", 2)
from apache_beam.io import fileio  # noqa: E402
from apache_beam.io.filesystems import FileSystems  # noqa: E402
from apache_beam.metrics.metric import MetricsFilter  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions  # noqa: E402
from apache_beam.runners.runner import PipelineState  # noqa: E402

from tf_nst.beam.transform import (  # noqa: E402
    FAILURES_FILE,
    METRICS_NAMESPACE,
    StylizeImages,
    WriteFailures,
    read_bytes,
    read_pixels,
)
from tf_nst.io.atomic import TEMPORARY_PREFIX  # noqa: E402

FLAGS = flags.FLAGS
define_flags(StyleTransferConfig)
flags.DEFINE_string("input", None, "Glob of content photos on any Beam filesystem (local, gs://, s3://, ...).")
flags.DEFINE_string("style", None, "Style painting(s), comma-separated, on any Beam filesystem.")
flags.DEFINE_string("output_dir", None, "Directory for <input file stem>.png per input and failures.jsonl.")
flags.DEFINE_boolean("overwrite", False, "Replace the results of an earlier run in --output_dir; otherwise refused.")
flags.DEFINE_boolean(
    "skip_existing",
    False,
    "Keep the images an earlier run wrote in --output_dir and stylize only the inputs without one (resume a run).",
)

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"  # Beam knows it by this name only


def build_pipeline(args: list[str]) -> beam.Pipeline:
    """A pipeline with Beam's options from ``args``, checked: UsageError naming an argument neither tf_nst nor Beam
    (with the chosen runner's own options) knows, or an option value Beam refuses."""
    options = PipelineOptions(args)
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or "DirectRunner"
    if is_dask(standard.runner):
        standard.runner = DASK_RUNNER
        if not importlib.util.find_spec("distributed"):
            raise UsageError("the DaskRunner needs Dask: pip install 'tf_nst[dask]'")
    try:
        pipeline = beam.Pipeline(options=options)  # imports the runner, whose own options then count as known
    except (ValueError, ImportError) as err:
        raise UsageError(" ".join(line.strip() for line in str(err).splitlines() if line.strip())) from None
    parsers = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)

    def refuse(message: str) -> None:
        raise UsageError(message)

    parsers[0].error = refuse
    _, unknown = parsers[0].parse_known_args(args)
    if unknown and unknown[0].startswith("-"):
        raise UsageError(f"unknown flag {unknown[0]} (neither a tf_nst flag nor a Beam pipeline option)")
    if unknown:
        raise UsageError(f"unexpected argument {unknown[0]} (flags take the form --name=value)")
    if is_dask(standard.runner):
        from apache_beam.runners.dask.dask_runner import DaskOptions

        dask = pipeline.options.view_as(DaskOptions)  # the pipeline's copy of the options
        if dask.npartitions is None and dask.partition_size is None:
            dask.partition_size = 1  # one image per task, so that every worker gets some (Dask's default: 128)
    return pipeline


def is_dask(runner: str) -> bool:
    return runner.rsplit(".", 1)[-1] == "DaskRunner"


def match_input(pattern: str, limit: int | None = None) -> list[str]:
    """The paths ``pattern`` matches (at most ``limit``), sorted; UsageError unless it matches at least one."""
    if os.path.isdir(pattern):
        raise UsageError(f"--input={pattern}: is a directory; give a glob of its files, e.g. --input='{pattern}/*'")
    try:
        matched = FileSystems.match([pattern], limits=[limit])[0].metadata_list
    except (OSError, ValueError) as err:
        raise UsageError(f"--input={pattern}: {first_line(err)}") from None
    if not matched:
        raise UsageError(f"--input={pattern}: no files match")
    return sorted(metadata.path for metadata in matched)


def absolute(path: str) -> str:
    """``path`` made absolute when it is a local one (no ``scheme://``)."""
    return path if "://" in path else os.path.abspath(path)


def prepare_output_dir(output_dir: str, reuse: bool) -> None:
    """Create ``output_dir``, or refuse (unless ``reuse``) one that holds an earlier run's results. Temporary
    files that a killed worker left there are deleted."""
    try:
        if not FileSystems.exists(output_dir):
            FileSystems.mkdirs(output_dir)
            return
        earlier = FileSystems.match([FileSystems.join(output_dir, "*.png")], limits=[1])[0].metadata_list
        failures = FileSystems.join(output_dir, FAILURES_FILE)
        found = earlier[0].path if earlier else failures if FileSystems.exists(failures) else None
        if found and not reuse:
            raise UsageError(
                f"--output_dir={output_dir}: holds results of an earlier run ({found}); "
                "pass --overwrite to replace them or --skip_existing to keep them"
            )
        temporaries = FileSystems.match([FileSystems.join(output_dir, f"{TEMPORARY_PREFIX}*.tmp")])[0].metadata_list
        if temporaries:
            FileSystems.delete([metadata.path for metadata in temporaries])
            logging.info("deleted %d partial file(s) that an interrupted run left in %s", len(temporaries), output_dir)
    except (OSError, ValueError) as err:
        raise UsageError(f"--output_dir={output_dir}: {first_line(err)}") from None


def counter(result, name: str) -> int | None:
    """The value of tf_nst's Beam counter ``name``, or None where the runner does not report it."""
    try:
        found = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE).with_name(name))
        values = [c.committed if c.committed is not None else c.attempted for c in found["counters"]]
    except Exception:  # runners without metrics raise anything from NotImplementedError on
        return None
    return sum(values) if values else 0


def read_failures(path: str) -> list[dict]:
    """The records of ``failures.jsonl``."""
    return [json.loads(line) for line in read_bytes(path).decode("utf-8").splitlines() if line.strip()]


def run(args: list[str]) -> None:
    missing = [f"--{name}" for name in ("input", "style", "output_dir") if not FLAGS[name].value]
    if missing:
        raise UsageError(f"give {', '.join(missing)}")
    if FLAGS.overwrite and FLAGS.skip_existing:
        raise UsageError("give --overwrite or --skip_existing, not both")
    config = from_flags(StyleTransferConfig)
    styles = FLAGS.style.split(",")
    config.blend_weights(len(styles))
    pipeline = build_pipeline(args)
    dask = is_dask(pipeline.options.view_as(StandardOptions).runner)
    inputs = match_input(FLAGS.input, None if dask else 1)
    for style in styles:
        read_pixels(style, config.max_input_pixels)  # a bad style would fail every worker: refuse it here
    output_dir = FLAGS.output_dir
    prepare_output_dir(output_dir, FLAGS.overwrite or FLAGS.skip_existing)
    if dask:  # a Dask worker's working directory is its own, not this one's
        inputs, styles, output_dir = [absolute(p) for p in inputs], [absolute(p) for p in styles], absolute(output_dir)
    failures_path = FileSystems.join(output_dir, FAILURES_FILE)

    if dask:  # a Dask bag is split only where it is created: one element from MatchFiles would be one task
        paths = pipeline | "Paths" >> beam.Create(inputs)
    else:
        paths = pipeline | "Match" >> fileio.MatchFiles(FLAGS.input) | "Paths" >> beam.Map(operator.attrgetter("path"))
    results = paths | "StylizeImages" >> StylizeImages(styles, config, output_dir, FLAGS.skip_existing)
    # Last: the DaskRunner computes only the pipeline's last transform and what it depends on.
    _ = results.failed | "WriteFailures" >> WriteFailures(failures_path)
    logging.info(
        "stylizing %s at %d px, %d steps, seed=%d into %s",
        FLAGS.input,
        config.max_size,
        config.steps,
        config.seed,
        output_dir,
    )
    try:
        result = pipeline.run()
        state = result.wait_until_finish()
    except Exception as err:  # a runner's failure arrives as any exception type
        logging.debug("the pipeline failed", exc_info=True)
        fail(f"the pipeline failed: {first_line(err)} (--verbosity=1 logs the traceback)", 1)
    if state not in (PipelineState.DONE, None):
        fail(f"the pipeline ended in state {state}", 1)
    try:
        failures = read_failures(failures_path)
    except (OSError, ValueError) as err:
        fail(f"{failures_path}: cannot read the pipeline's failure records ({first_line(err)})", 1)
    stylized, kept = counter(result, "stylized"), counter(result, "skipped")
    total = len(inputs) if dask else None if stylized is None else stylized + kept + len(failures)
    if failures:
        first = failures[0]
        of_total = f" of {total}" if total is not None else ""
        fail(
            f"{len(failures)}{of_total} images failed (first: {first['input']}: {first['error']}); see {failures_path}",
            1,
        )
    note = f" ({kept} kept from an earlier run)" if kept else ""
    logging.info("wrote %s image(s) to %s%s", "all" if total is None else total, output_dir, note)


def main(argv: list[str]) -> None:
    try:
        run(argv[1:])
    except TfNstError as err:
        fail(str(err), exit_status(err))
    except KeyboardInterrupt as err:
        fail("interrupted", exit_status(err))


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser for tf_nst's flags; the rest are Beam's. A bad flag is a one-line usage error, status 2."""
    try:
        return FLAGS(argv, known_only=True)
    except flags.Error as err:
        fail(first_line(err), 2)


if __name__ == "__main__":
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().setFormatter(std_logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    std_logging.getLogger("apache_beam").setLevel(std_logging.WARNING)  # runner internals; errors still show
    app.run(main, flags_parser=parse_flags)
