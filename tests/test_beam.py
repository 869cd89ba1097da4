"""The Apache Beam pipeline: ``python -m tf_nst.beam`` on the DirectRunner, and its pieces."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import BEAM_RUN, REPO, SHALLOW, gradient_image, one_line_error, pixels, run_command
from PIL import Image

beam = pytest.importorskip("apache_beam")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three small photos (PNG and JPEG, two sizes), one broken file, and a style painting."""
    root = tmp_path_factory.mktemp("beam")
    inputs = root / "photos"
    inputs.mkdir()
    Image.fromarray(gradient_image(64, 48, 1)).save(inputs / "harbour.png")
    Image.fromarray(gradient_image(48, 64, 3)).save(inputs / "tower.jpg", quality=95)
    Image.fromarray(gradient_image(64, 48, 4)).save(inputs / "street.png")
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"no image data follows")
    style = root / "style.jpg"
    Image.fromarray(gradient_image(64, 64, 2)[:, ::-1]).save(style)
    return inputs, style


USAGE_ERRORS = [
    (["--stpes=3"], ["unknown flag --stpes=3"]),
    (["--input=/nonexistent/*.jpg"], ["--input=/nonexistent/*.jpg", "no files match"]),
    (["--steps=0"], ["--steps", "must be positive"]),
    (["--overwrite", "--skip_existing"], ["--overwrite or --skip_existing"]),
]
EARLIER_RUN = ["holds results of an earlier run", "--overwrite"]

EACH_COMMAND = textwrap.dedent(
    """
    # python -m tf_nst.beam's parse and main for each argument list: one process's start-up for them all
    import contextlib, io, json, sys
    from tf_nst.beam import __main__ as command

    results = []
    for argv in json.loads(sys.argv[1]):
        stderr, status = io.StringIO(), 0
        with contextlib.redirect_stderr(stderr):
            try:
                command.main(command.parse_flags(["tf_nst.beam", *argv]))
            except SystemExit as exit:
                status = exit.code
            finally:
                command.FLAGS.unparse_flags()
        results.append((status, stderr.getvalue()))
    print(json.dumps(results))
    """
)


def test_usage_errors_a_run_and_a_rerun_are_one_line_each_and_the_run_has_the_clis_pixels(photos, tmp_path):
    """One process parses and runs every command (the DirectRunner in process; two worker processes are
    tested on Dask): four usage errors, a run of every input with one broken, and the same run again."""
    inputs, style = photos
    common = [f"--input={inputs}/*.png", f"--style={style}"]
    argvs = [[*common, f"--output_dir={tmp_path / 'out'}", *extra] for extra, _ in USAGE_ERRORS]
    output_dir = tmp_path / "painted"
    run = [f"--input={inputs}/*", f"--style={style}", f"--output_dir={output_dir}", *BEAM_RUN]
    argvs += [run, run]  # the second is refused: the first run's images are kept
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    process = subprocess.run(
        [sys.executable, "-c", EACH_COMMAND, json.dumps(argvs)], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert process.returncode == 0, process.stderr
    *errors, (status, stderr), rerun = json.loads(process.stdout)
    for argv, (status_, stderr_), (_, fragments) in zip(argvs[:-2], errors, USAGE_ERRORS, strict=True):
        one_line_error(subprocess.CompletedProcess(argv, status_, "", stderr_), 2, *fragments)
    assert not (tmp_path / "out").exists()

    ran = subprocess.CompletedProcess(run, status, "", stderr)
    one_line_error(ran, 1, "1 of 4 images failed", str(inputs / "broken.png"), "failures.jsonl")
    assert sorted(os.listdir(output_dir)) == ["failures.jsonl", "harbour.png", "street.png", "tower.png"]
    assert Image.open(output_dir / "tower.png").size == (48, 64)
    assert Image.open(output_dir / "harbour.png").size == (64, 48)
    records = [json.loads(line) for line in (output_dir / "failures.jsonl").read_text().splitlines()]
    assert len(records) == 1 and records[0]["input"] == str(inputs / "broken.png")
    assert "cannot decode" in records[0]["error"] and "\n" not in records[0]["error"]
    one_line_error(subprocess.CompletedProcess(run, *rerun[:1], "", rerun[1]), 2, *EARLIER_RUN)

    cli_dir = tmp_path / "cli"  # the command's batch of the same photos (PNG in, PNG out)
    cli = run_command(f"--content={inputs}/[hs]*.png", f"--style={style}", f"--output={cli_dir}", *BEAM_RUN)
    assert cli.returncode == 0, cli.stderr
    for name in ("harbour.png", "street.png"):
        assert np.abs(pixels(output_dir / name) - pixels(cli_dir / name)).max() <= 3, name


def test_the_transform_keys_results_by_input_and_tags_failures(tmp_path):
    """``StylizeImages`` in a pipeline of one's own: one input per output name, the others fail as duplicates."""
    from apache_beam.testing.util import assert_that, equal_to

    from tf_nst import StyleTransferConfig
    from tf_nst.beam import StylizeImages

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second, style = tmp_path / "a" / "x.png", tmp_path / "b" / "x.jpg", tmp_path / "style.png"
    Image.fromarray(gradient_image(32, 32, 5)).save(first)
    Image.fromarray(gradient_image(32, 32, 6)).save(second)
    Image.fromarray(gradient_image(32, 32, 7)).save(style)
    output_dir = tmp_path / "out"
    config = StyleTransferConfig(max_size=32, steps=1, **SHALLOW)
    with beam.Pipeline("DirectRunner") as pipeline:
        out = pipeline | beam.Create([str(first), str(second)]) | StylizeImages(str(style), config, str(output_dir))
        assert_that(out.stylized, equal_to([(str(first), str(output_dir / "x.png"))]), label="stylized")
        failed = out.failed | beam.Map(lambda failure: (failure[0], "same output" in failure[1]))
        assert_that(failed, equal_to([(str(second), True)]), label="failed")
    assert os.listdir(output_dir) == ["x.png"]


def test_output_paths_and_atomic_writes(tmp_path):
    from tf_nst.beam import output_path
    from tf_nst.beam.transform import write_atomically

    assert output_path("/photos/IMG_1.final.JPG", str(tmp_path)) == str(tmp_path / "IMG_1.final.png")
    assert output_path("/photos/.hidden", str(tmp_path)) == str(tmp_path / ".hidden.png")
    assert output_path("/photos/photo", str(tmp_path)) == str(tmp_path / "photo.png")
    target = tmp_path / "result.png"
    target.write_bytes(b"old")
    write_atomically(str(target), b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["result.png"]


def test_bytes_decode_and_encode_as_the_files_do(image_files, tmp_path):
    from tf_nst.io.images import encode_image, load_image, save_image

    content, _ = image_files
    from_bytes = load_image(str(content), 48, data=content.read_bytes())
    np.testing.assert_array_equal(from_bytes, load_image(str(content), 48))
    save_image(from_bytes, str(tmp_path / "saved.png"))
    assert encode_image(from_bytes, "PNG") == (tmp_path / "saved.png").read_bytes()
