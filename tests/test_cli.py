"""The command line, run as a subprocess the way a user runs it."""

import numpy as np
import pytest
from conftest import SHARED_IMAGES, gradient_image, one_line_error, run_cli
from PIL import Image

FAST = ["--max_size=48", "--steps=2"]


def test_stylizes_files_into_the_requested_format(image_files, tmp_path):
    content, style = image_files
    output = tmp_path / "out.jpg"
    result = run_cli(f"--content={content}", f"--style={style}", f"--output={output}", *FAST)
    assert result.returncode == 0, result.stderr
    with Image.open(output) as image:
        assert image.format == "JPEG" and image.size == (48, 32)
    assert "step 2/2" in result.stderr and "wrote" in result.stderr


def test_demo_runs_without_inputs(tmp_path):
    result = run_cli("--output=demo.png", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "demo.png").size == (48, 36)


def test_help_documents_every_flag():
    result = run_cli("--helpfull")
    for flag in (
        "--content",
        "--style",
        "--output",
        "--max_size",
        "--steps",
        "--content_weight",
        "--style_weight",
        "--tv_weight",
        "--learning_rate",
        "--content_layers",
        "--style_layers",
        "--style_layer_weights",
        "--init",
        "--seed",
        "--weights",
        "--pooling",
        "--export_dir",
        "--export_version",
        "--[no]overwrite",  # absl's spelling of a boolean flag
        "--precision",
        "--scales",
        "--memory_limit_mb",
        "--style_blend_weights",
        "--style_scale",
        "--preserve_colors",
        "--save_every",
        "--logdir",
        "--trace",
        "--max_input_pixels",
    ):
        assert flag in result.stdout + result.stderr


def test_precision_flag_is_used_and_logged(image_files, tmp_path):
    content, style = image_files
    output = tmp_path / "out.png"
    result = run_cli(f"--content={content}", f"--style={style}", f"--output={output}", "--precision=float32", *FAST)
    assert result.returncode == 0, result.stderr
    assert "precision float32 (as requested)" in result.stderr and output.exists()


def test_scales_run_coarse_to_fine_to_the_full_size(tmp_path):
    content, style, output = tmp_path / "content.png", tmp_path / "style.png", tmp_path / "out.png"
    Image.fromarray(gradient_image(64, 64, 1)).save(content)
    Image.fromarray(gradient_image(64, 64, 2)).save(style)
    result = run_cli(
        f"--content={content}", f"--style={style}", f"--output={output}", "--max_size=64", "--scales=2", "--steps=2"
    )
    assert result.returncode == 0, result.stderr
    assert "coarse to fine: 32x32 (2 steps), 64x64 (1 step)" in result.stderr
    assert "scale 1/2 32x32  step 2/2" in result.stderr and "scale 2/2 64x64  step 1/1" in result.stderr
    assert Image.open(output).size == (64, 64)


def test_run_that_would_not_fit_in_memory_is_refused_before_work(image_files, tmp_path):
    import tensorflow as tf

    from tf_nst.config import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
    from tf_nst.memory import MB, peak_bytes

    content, style = image_files  # 96x64 and 64x64
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    at_64 = peak_bytes((64, 43), (64, 64), PAPER_CONTENT_LAYERS + PAPER_STYLE_LAYERS, "float32", device)
    output = tmp_path / "out.png"
    result = run_cli(
        f"--content={content}",
        f"--style={style}",
        f"--output={output}",
        "--max_size=128",
        "--precision=float32",
        f"--memory_limit_mb={at_64 // MB + 1}",
    )
    one_line_error(result, 2, "--max_size=128: needs about", "the largest --max_size that fits is")
    assert not output.exists() and "step 1/" not in result.stderr


def test_only_one_of_content_and_style_is_a_usage_error(image_files):
    one_line_error(run_cli(f"--content={image_files[0]}"), 2, "--style")


def test_output_over_an_input_is_refused(image_files):
    content, style = image_files
    before = content.read_bytes()
    one_line_error(run_cli(f"--content={content}", f"--style={style}", f"--output={content}", *FAST), 2, "same file")
    assert content.read_bytes() == before


def test_corrupt_weights_flag_is_a_clear_failure(image_files, tmp_path):
    bad = tmp_path / "vgg.h5"
    bad.write_bytes(b"not hdf5")
    one_line_error(
        run_cli(
            f"--content={image_files[0]}",
            f"--style={image_files[1]}",
            f"--weights={bad}",
            f"--output={tmp_path / 'o.png'}",
            *FAST,
        ),
        1,
        str(bad),
    )


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_IMAGES / "tubingen.jpg").exists(), reason="shared images not present")
def test_real_photo_and_painting_are_stylized(tmp_path):
    """tubingen + starry night at 96 px: the result moves far from the photo, towards the painting's colours."""
    output = tmp_path / "tubingen.png"
    result = run_cli(
        f"--content={SHARED_IMAGES / 'tubingen.jpg'}",
        f"--style={SHARED_IMAGES / 'starry_night.jpg'}",
        f"--output={output}",
        "--max_size=96",
        "--steps=60",
        "--learning_rate=0.05",
    )
    assert result.returncode == 0, result.stderr
    out = np.asarray(Image.open(output), np.float32) / 255
    photo = (
        np.asarray(Image.open(SHARED_IMAGES / "tubingen.jpg").convert("RGB").resize(out.shape[1::-1]), np.float32) / 255
    )
    painting = np.asarray(Image.open(SHARED_IMAGES / "starry_night.jpg").convert("RGB"), np.float32) / 255
    assert np.abs(out - photo).mean() > 0.05
    # the painting is blue-dominated; the stylized photo's mean colour moves towards it
    assert np.linalg.norm(out.mean((0, 1)) - painting.mean((0, 1))) < np.linalg.norm(
        photo.mean((0, 1)) - painting.mean((0, 1))
    )
