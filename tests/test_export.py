"""The SavedModel export: signatures, numbers, a fresh-process load, saved_model_cli, the CLI and its errors."""

import io
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, gradient_image, one_line_error, run_cli
from PIL import Image

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ExportError
from tf_nst.export import decode_and_resize, export_feature_extractor, exported_layers
from tf_nst.features import build_feature_model
from tf_nst.image_io import load_image, resize, resized_size
from tf_nst.losses import gram_matrix
from tf_nst.weights import load_conv_weights

DEFAULT = StyleTransferConfig()
SMALL = StyleTransferConfig(content_layers=("block2_conv2",), style_layers=("block1_conv1", "block2_conv1"))
SIZES = [(32, 48), (64, 40)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, random_model):
    """The default layers, random weights, exported once: ``<tmp>/vgg19_features/1``."""
    return export_feature_extractor(tmp_path_factory.mktemp("export") / "vgg19_features", DEFAULT, model=random_model)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


@pytest.fixture(scope="module")
def small_model():
    return build_feature_model(exported_layers(SMALL), None)


def images(height: int, width: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, height, width, 3), dtype=np.float32)


def encode(pixels: np.ndarray, fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def assert_close(actual, expected, rtol: float = 1e-5) -> None:
    """Equal to float32 round-off, relative to the tensor's largest value."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def reference_grams(model, pixels: np.ndarray) -> dict[str, np.ndarray]:
    features = model(pixels[None] if pixels.ndim == 3 else pixels)
    return {name: gram_matrix(features[name]).numpy() for name in DEFAULT.style_layers}


def test_signatures_have_the_specified_names_dtypes_and_shapes(loaded):
    signatures = loaded.signatures
    assert set(signatures) == {"serving_default", "gram", "encoded"}
    images_spec = {"images": tf.TensorSpec([None, None, None, 3], tf.float32, name="images")}
    assert signatures["serving_default"].structured_input_signature == ((), images_spec)
    assert signatures["gram"].structured_input_signature == ((), images_spec)
    assert signatures["encoded"].structured_input_signature == (
        (),
        {
            "image_bytes": tf.TensorSpec([None], tf.string, name="image_bytes"),
            "max_size": tf.TensorSpec([], tf.int32, name="max_size"),
        },
    )
    features = signatures["serving_default"].structured_outputs
    assert set(features) == {"block4_conv2", *DEFAULT.style_layers}
    assert features["block3_conv1"].shape.as_list() == [None, None, None, 256]
    for name in ("gram", "encoded"):
        grams = signatures[name].structured_outputs
        assert set(grams) == set(DEFAULT.style_layers)
        assert grams["block2_conv1"].shape.as_list() == [None, 128, 128]
        assert all(spec.dtype == tf.float32 for spec in grams.values())


@pytest.mark.parametrize("height, width", SIZES)
def test_features_and_grams_match_the_feature_model(loaded, random_model, height, width):
    pixels = images(height, width)
    expected = random_model(pixels)
    features = loaded.signatures["serving_default"](images=tf.constant(pixels))
    assert set(features) == set(expected)
    for name, value in expected.items():
        assert features[name].shape == value.shape
        assert_close(features[name], value)
    grams = loaded.signatures["gram"](images=tf.constant(pixels))
    for name in DEFAULT.style_layers:
        assert_close(grams[name], gram_matrix(expected[name]))
    assert_close(loaded.gram(tf.constant(pixels))["block1_conv1"], grams["block1_conv1"])


def test_images_below_32_pixels_are_refused(loaded):
    with pytest.raises(tf.errors.InvalidArgumentError, match="32x32 minimum"):
        loaded.signatures["gram"](images=tf.zeros([1, 20, 40, 3]))


FRESH_PROCESS = textwrap.dedent(
    """
    import importlib.abc, importlib.machinery, importlib.util, sys

    class Blocked(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        # TensorFlow imports keras itself whenever it can; make sure it cannot.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("keras", "tf_nst"):
                real = importlib.machinery.PathFinder.find_spec(name, path)
                return importlib.util.spec_from_loader(name, self, origin=real.origin if real else None)
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            raise ImportError(module.__name__ + " is blocked")

    sys.meta_path.insert(0, Blocked())
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(sys.argv[1])
    results = {}
    with np.load(sys.argv[2]) as inputs:
        for key in inputs.files:
            for signature in ("serving_default", "gram"):
                outputs = model.signatures[signature](images=tf.constant(inputs[key]))
                results.update({f"{key}/{signature}/{name}": value.numpy() for name, value in outputs.items()})
    np.savez(sys.argv[3], **results)
    assert "tf_nst" not in sys.modules and "keras" not in sys.modules, sorted(sys.modules)
    print("loaded without tf_nst and keras")
    """
)


def test_a_fresh_process_without_tf_nst_or_keras_loads_and_runs_it(exported, random_model, tmp_path):
    inputs = {f"{h}x{w}": images(h, w, seed=h) for h, w in SIZES}
    np.savez(tmp_path / "inputs.npz", **inputs)
    (tmp_path / "serve.py").write_text(FRESH_PROCESS)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "serve.py", str(exported), "inputs.npz", "outputs.npz"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded without tf_nst and keras" in result.stdout
    with np.load(tmp_path / "outputs.npz") as outputs:
        assert len(outputs.files) == len(SIZES) * (6 + 5)
        for key, pixels in inputs.items():
            expected = random_model(pixels)
            for name, value in expected.items():
                assert_close(outputs[f"{key}/serving_default/{name}"], value)
            for name in DEFAULT.style_layers:
                assert_close(outputs[f"{key}/gram/{name}"], gram_matrix(expected[name]))


def test_encoded_gives_each_file_its_own_grams(loaded, random_model):
    """A wide PNG and a tall JPEG in one batch: each decoded and resized on its own, as tf_nst would."""
    files = [encode(gradient_image(80, 50, 1), "PNG"), encode(gradient_image(40, 64, 2), "JPEG")]
    grams = loaded.signatures["encoded"](image_bytes=tf.constant(files), max_size=tf.constant(64))
    assert grams["block2_conv1"].shape == (2, 128, 128)
    for index, data in enumerate(files):
        decoded = tf.io.decode_image(data, channels=3, dtype=tf.float32).numpy()
        pixels = resize(decoded, resized_size(decoded.shape[1], decoded.shape[0], 64))  # PIL LANCZOS
        assert max(pixels.shape[:2]) == 64
        for name, expected in reference_grams(random_model, pixels).items():
            assert_close(grams[name][index], expected[0], rtol=1e-4)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"not an image", "Unknown image file format"),
        (encode(gradient_image(200, 40), "PNG"), "32x32 minimum"),
    ],
)
def test_encoded_refuses_a_bad_file_in_the_batch(loaded, data, fragment):
    good = encode(gradient_image(48, 48), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match=fragment):
        loaded.signatures["encoded"](image_bytes=tf.constant([good, data]), max_size=tf.constant(64))


def test_encoded_refuses_a_max_size_below_32(loaded):
    good = encode(gradient_image(48, 48), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_size must be at least 32"):
        loaded.signatures["encoded"](image_bytes=tf.constant([good]), max_size=tf.constant(16))


@pytest.mark.parametrize("width, height, max_size", [(80, 50, 64), (40, 64, 56), (33, 45, 90)])
def test_decode_and_resize_matches_load_image(tmp_path, width, height, max_size):
    """Same size and, for a PNG, the same pixels as tf_nst.load_image (PIL LANCZOS), down- or upscaling."""
    path = tmp_path / "image.png"
    Image.fromarray(gradient_image(width, height)).save(path)
    pixels = decode_and_resize(tf.constant(path.read_bytes()), tf.constant(max_size)).numpy()
    assert_close(pixels, load_image(str(path), max_size)[0], rtol=1e-5)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_decode_and_resize_makes_grayscale_and_rgba_files_rgb(mode):
    rgb = gradient_image(40, 40)
    pixels = decode_and_resize(tf.constant(encode(rgb, "PNG", mode)), tf.constant(40)).numpy()
    expected = np.asarray(Image.fromarray(rgb).convert(mode).convert("RGB"), np.float32) / 255
    assert pixels.shape == (40, 40, 3)
    assert_close(pixels, expected)


def saved_model_cli() -> str | None:
    beside_python = pathlib.Path(sys.executable).with_name("saved_model_cli")
    return str(beside_python) if beside_python.exists() else shutil.which("saved_model_cli")


@pytest.mark.skipif(saved_model_cli() is None, reason="saved_model_cli is not installed")
def test_saved_model_cli_shows_and_runs_it(exported, random_model, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    show = subprocess.run(
        [saved_model_cli(), "show", "--all", "--dir", exported], capture_output=True, text=True, timeout=300, env=env
    )
    assert show.returncode == 0, show.stderr
    for name in ("serving_default", "gram", "encoded"):
        assert f"signature_def['{name}']" in show.stdout
    for name in ("images", "image_bytes", "max_size"):
        assert f"inputs['{name}']" in show.stdout
    assert "outputs['block4_conv2']" in show.stdout

    pixels = images(32, 40, batch=1)
    np.save(tmp_path / "x.npy", pixels)
    run = subprocess.run(
        [saved_model_cli(), "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "serving_default"]
        + ["--inputs", f"images={tmp_path / 'x.npy'}", "--outdir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    expected = random_model(pixels)
    for name in ("block1_conv1", "block4_conv2"):
        assert_close(np.load(tmp_path / "out" / f"{name}.npy"), expected[name])


def readme_signatures() -> dict[str, tuple[dict, dict]]:
    """savedmodels/README.md's signature table: {signature: ({input: (dtype, shape)}, {output: shape})}."""
    table = {}
    for line in (REPO / "savedmodels" / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        inputs = {name: (dtype, shape) for name, dtype, shape in re.findall(r"`(\w+)`: (\w+) `\[([^\]]*)\]`", cells[1])}
        outputs = dict(re.findall(r"`(\w+)` `\[([^\]]*)\]`", cells[2]))
        table[cells[0].strip("`")] = (inputs, outputs)
    return table


def same_shape(documented: str, shape: tf.TensorShape) -> bool:
    dims = [d.strip() for d in documented.split(",")] if documented else []
    return len(dims) == len(shape) and all(
        (int(d) == s) if d.isdigit() else (s is None) for d, s in zip(dims, shape.as_list())
    )


def test_the_serving_readme_documents_exactly_what_is_exported(loaded):
    table = readme_signatures()
    assert set(table) == set(loaded.signatures)
    for name, (inputs, outputs) in table.items():
        signature = loaded.signatures[name]
        specs = signature.structured_input_signature[1]
        assert set(inputs) == set(specs), name
        for key, (dtype, shape) in inputs.items():
            assert specs[key].dtype.name == dtype and same_shape(shape, specs[key].shape), (name, key)
        assert set(outputs) == set(signature.structured_outputs), name
        for key, shape in outputs.items():
            assert same_shape(shape, signature.structured_outputs[key].shape), (name, key, shape)
    text = (REPO / "savedmodels" / "README.md").read_text()
    assert set(re.findall(r'"signature_name": "(\w+)"', text)) <= set(loaded.signatures)
    assert "--export_dir=savedmodels/vgg19_features" in text


def test_an_existing_version_is_kept_unless_overwrite(tmp_path, small_model):
    base = tmp_path / "models"
    first = export_feature_extractor(base, SMALL, model=small_model)
    assert first == str(base / "1") and (base / "1" / "saved_model.pb").is_file()
    (base / "1" / "marker").write_text("old")
    with pytest.raises(ConfigError, match="already exists"):
        export_feature_extractor(base, SMALL, model=small_model)
    assert (base / "1" / "marker").exists()

    export_feature_extractor(base, SMALL, version=2, model=small_model)
    export_feature_extractor(base, SMALL, overwrite=True, model=small_model)
    assert not (base / "1" / "marker").exists() and (base / "1" / "variables").is_dir()
    assert sorted(os.listdir(base)) == ["1", "2"]  # no temporary directories left behind
    assert set(tf.saved_model.load(str(base / "1")).signatures["gram"].structured_outputs) == set(SMALL.style_layers)


def test_a_failed_export_leaves_the_old_version_in_place(tmp_path, small_model, monkeypatch):
    base = tmp_path / "models"
    export_feature_extractor(base, SMALL, model=small_model)
    (base / "1" / "marker").write_text("old")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", disk_full)
    with pytest.raises(ExportError, match="No space left on device") as error:
        export_feature_extractor(base, SMALL, overwrite=True, model=small_model)
    assert str(base / "1") in str(error.value)
    assert (base / "1" / "marker").exists() and os.listdir(base) == ["1"]


@pytest.mark.parametrize(
    "make_dir, version, fragment",
    [
        (lambda d: (d / "file").write_text("x") and d / "file", 1, "is not a directory"),
        (lambda d: (d / "file").write_text("x") and d / "file" / "models", 1, "is not a directory"),
        (lambda d: d / "models", 0, "positive integer"),
        (lambda d: d / "models", "1", "positive integer"),
    ],
)
def test_bad_places_and_versions_are_refused_before_work(tmp_path, small_model, make_dir, version, fragment):
    export_dir = make_dir(tmp_path)
    with pytest.raises(ConfigError, match=fragment):
        export_feature_extractor(export_dir, SMALL, version=version, model=small_model)
    assert not (tmp_path / "models").exists()


def test_a_model_without_an_exported_layer_is_refused(tmp_path, small_model):
    config = SMALL.replace(style_layers=("block1_conv1", "block3_conv1"))
    with pytest.raises(ConfigError, match="block3_conv1"):
        export_feature_extractor(tmp_path / "models", config, model=small_model)
    assert not (tmp_path / "models" / "1").exists()


CLI_LAYERS = ["--content_layers=block1_conv2", "--style_layers=block1_conv1,block2_conv1"]


def test_cli_exports_the_flagged_layers_refuses_to_overwrite_and_overwrites(tmp_path):
    base = tmp_path / "savedmodels" / "features"
    result = run_cli(f"--export_dir={base}", *CLI_LAYERS, "--pooling=avg")
    assert result.returncode == 0, result.stderr
    assert f"to {base / '1'}" in result.stderr and "Traceback" not in result.stderr

    # --weights (embedded), --pooling and the layers reach the export: compare with the same model in-process
    config = StyleTransferConfig(content_layers=("block1_conv2",), style_layers=("block1_conv1", "block2_conv1"))
    model = build_feature_model(exported_layers(config), load_conv_weights("embedded"), "avg")
    pixels = images(32, 48)
    features = tf.saved_model.load(str(base / "1")).signatures["serving_default"](images=tf.constant(pixels))
    expected = model(pixels)
    assert set(features) == {"block1_conv2", "block1_conv1", "block2_conv1"}
    for name in expected:
        assert_close(features[name], expected[name])

    saved = (base / "1" / "saved_model.pb").stat()
    one_line_error(run_cli(f"--export_dir={base}", *CLI_LAYERS), 2, str(base / "1"), "already exists", "--overwrite")
    assert (base / "1" / "saved_model.pb").stat().st_mtime_ns == saved.st_mtime_ns

    (base / "1" / "marker").write_text("old")
    result = run_cli(f"--export_dir={base}", *CLI_LAYERS, "--overwrite", "--export_version=1")
    assert result.returncode == 0, result.stderr
    assert not (base / "1" / "marker").exists() and (base / "1" / "saved_model.pb").is_file()
    assert os.listdir(base) == ["1"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (lambda d: ["--export_dir=models", f"--content={d / 'a.png'}"], "--content"),
        (lambda d: ["--export_dir=models", "--output=out.png"], "--output"),
        (lambda d: [f"--export_dir={(d / 'file').write_text('x') and d / 'file'}"], "is not a directory"),
        (lambda d: [f"--export_dir={(d / 'file').write_text('x') and d / 'file' / 'models'}"], "is not a directory"),
        (lambda d: ["--export_dir=models", "--export_version=0"], "--export_version"),
        (lambda d: ["--export_dir=models", "--style_layers=block9_conv1"], "block9_conv1"),
        (lambda d: ["--export_version=2"], "--export_dir"),
    ],
)
def test_cli_export_usage_errors(tmp_path, args, fragment):
    one_line_error(run_cli(*args(tmp_path), cwd=tmp_path), 2, fragment)
    assert not (tmp_path / "models").exists()


def test_cli_export_with_bad_weights_is_a_failure(tmp_path):
    bad = tmp_path / "vgg.h5"
    bad.write_bytes(b"not hdf5")
    one_line_error(run_cli(f"--export_dir={tmp_path / 'models'}", f"--weights={bad}", *CLI_LAYERS), 1, str(bad))
    assert not (tmp_path / "models").exists()
