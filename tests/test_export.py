"""The SavedModel export: its signatures and their numbers, limits, versions and files, a fresh-process load,
saved_model_cli, the serving README, the CLI and its errors. What ``encoded`` does with each file's bytes is the
serving decoder's, tested in test_serving_images.py."""

import json
import logging
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
from absl import logging as absl_logging
from conftest import REPO, SHALLOW, gradient_image, one_line_error, run_command
from image_bytes import encode, exif_jpeg, flat_gif, png_bomb

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ExportError
from tf_nst.features import build_feature_model
from tf_nst.io.images import load_image
from tf_nst.io.weights import load_conv_weights
from tf_nst.losses import feature_mean, gram_matrix
from tf_nst.serving.export import export_feature_extractor, exported_layers

DEFAULT = StyleTransferConfig()
SMALL = StyleTransferConfig(**SHALLOW)
SIZES = [(32, 48), (64, 40)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, random_model):
    """The default layers, random weights, exported once: ``<tmp>/vgg19_features/1``."""
    return export_feature_extractor(tmp_path_factory.mktemp("export") / "vgg19_features", DEFAULT, model=random_model)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(exported)


def images(height: int, width: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, height, width, 3), dtype=np.float32)


def assert_close(actual, expected, rtol: float = 1e-5) -> None:
    """Equal to float32 round-off, relative to the tensor's largest value."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def reference_grams(model, pixels: np.ndarray) -> dict[str, np.ndarray]:
    features = model(pixels[None] if pixels.ndim == 3 else pixels)
    return {name: gram_matrix(features[name]).numpy() for name in DEFAULT.style_layers}


def test_signatures_have_the_specified_names_dtypes_and_shapes(loaded):
    signatures = loaded.signatures
    assert set(signatures) == {"serving_default", "gram", "mean", "encoded"}
    images_spec = {"images": tf.TensorSpec([None, None, None, 3], tf.float32, name="images")}
    assert signatures["serving_default"].structured_input_signature == ((), images_spec)
    assert signatures["gram"].structured_input_signature == ((), images_spec)
    assert signatures["mean"].structured_input_signature == ((), images_spec)
    assert signatures["mean"].structured_outputs["block2_conv1"].shape.as_list() == [None, 128]
    assert signatures["encoded"].structured_input_signature == (
        (),
        {
            "image_bytes": tf.TensorSpec([None], tf.string, name="image_bytes"),
            "max_size": tf.TensorSpec([], tf.int32, name="max_size"),
        },
    )
    features = signatures["serving_default"].structured_outputs
    assert set(features) == {*DEFAULT.content_layers, *DEFAULT.style_layers}
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
    means = loaded.signatures["mean"](images=tf.constant(pixels))
    for name in DEFAULT.style_layers:
        assert_close(means[name], feature_mean(expected[name]))


@pytest.mark.parametrize("shape", [[1, 20, 40, 3], [1, 32, 2049, 3]])
def test_images_outside_32_to_max_size_pixels_are_refused(loaded, shape):
    for signature in ("serving_default", "gram"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"outside 32 to 2048 pixels a side \(the max_size"):
            loaded.signatures[signature](images=tf.zeros(shape))


def test_the_export_states_its_limits(loaded):
    assert {name: int(value) for name, value in loaded.limits().items()} == {"max_pixels": 50_000_000, "max_size": 2048}


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
        assert len(outputs.files) == len(SIZES) * (7 + 5)
        for key, pixels in inputs.items():
            expected = random_model(pixels)
            for name, value in expected.items():
                assert_close(outputs[f"{key}/serving_default/{name}"], value)
            for name in DEFAULT.style_layers:
                assert_close(outputs[f"{key}/gram/{name}"], gram_matrix(expected[name]))


def test_encoded_gives_each_file_its_own_grams(loaded, random_model, tmp_path):
    """A wide PNG and a tall JPEG in one batch: each decoded and resized on its own, as tf_nst.load_image does."""
    files = [encode(gradient_image(80, 50, 1), "PNG"), encode(gradient_image(40, 64, 2), "JPEG")]
    grams = loaded.signatures["encoded"](image_bytes=tf.constant(files), max_size=tf.constant(64))
    assert grams["block2_conv1"].shape == (2, 128, 128)
    for index, data in enumerate(files):
        (tmp_path / "image").write_bytes(data)
        pixels = load_image(str(tmp_path / "image"), 64)
        assert max(pixels.shape[1:3]) == 64
        for name, expected in reference_grams(random_model, pixels).items():
            assert_close(grams[name][index], expected[0], rtol=1e-4)


def test_encoded_turns_a_jpeg_upright(loaded, random_model, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(exif_jpeg(gradient_image(80, 50, 3), 6))
    grams = loaded.signatures["encoded"](image_bytes=tf.constant([path.read_bytes()]), max_size=tf.constant(64))
    for name, expected in reference_grams(random_model, load_image(str(path), 64)).items():
        assert_close(grams[name], expected, rtol=1e-4)


def test_encoded_refuses_the_whole_request_naming_the_bad_file_by_its_index(loaded):
    """Each bad file's refusals are the serving decoder's (test_serving_images.py); the signature names the file."""
    good = encode(gradient_image(48, 48), "PNG")
    for bad, fragment in [(b"not an image", "not a JPEG, PNG, GIF or BMP file"), (png_bomb(), "PNG of 20000x20000 px")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=rf"image_bytes\[1\]: {fragment}"):
            loaded.signatures["encoded"](image_bytes=tf.constant([good, bad, good]), max_size=tf.constant(64))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP"])
def test_encoded_refuses_a_file_cut_in_its_pixels_and_keeps_serving(loaded, fmt):
    data = encode(gradient_image(64, 48), fmt)
    with pytest.raises(tf.errors.InvalidArgumentError):  # TensorFlow's decoder's own message
        loaded.signatures["encoded"](image_bytes=tf.constant([data[: len(data) * 2 // 3]]), max_size=tf.constant(64))
    grams = loaded.signatures["encoded"](image_bytes=tf.constant([data]), max_size=tf.constant(64))
    assert grams["block1_conv1"].shape == (1, 64, 64)


@pytest.mark.parametrize("max_size", [16, 2049, 20000])
def test_encoded_refuses_a_max_size_outside_its_limits(loaded, max_size):
    good = encode(gradient_image(48, 48), "PNG")
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"max_size={max_size} is outside \[32, 2048\]"):
        loaded.signatures["encoded"](image_bytes=tf.constant([good]), max_size=tf.constant(max_size))


REFUSALS = textwrap.dedent(
    """
    import json, resource, sys
    import tensorflow as tf

    def peak_mb():  # VmHWM starts afresh at exec; ru_maxrss keeps the forking parent's (a busy test worker's)
        try:
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    encoded = tf.saved_model.load(sys.argv[1]).signatures["encoded"]
    requests = json.load(open(sys.argv[2]))
    encoded(image_bytes=tf.constant([open(requests["warm up"][0][0], "rb").read()]), max_size=tf.constant(64))
    print("baseline", peak_mb())
    for name, (paths, max_size) in requests.items():
        files = tf.constant([open(path, "rb").read() for path in paths])
        try:
            encoded(image_bytes=files, max_size=tf.constant(max_size))
            print(name, "|ok")
        except tf.errors.InvalidArgumentError as error:
            print(name, "|refused:", [line for line in error.message.splitlines() if "assertion" in line][0])
    print("peak", peak_mb())
    """
)


def test_a_serving_process_refuses_bombs_within_2_gb_and_keeps_running(exported, tmp_path):
    """In a plain tf.saved_model.load process: a PNG whose 1.2 MB decode to 1.2 GB (and took 8 GB and 16 s
    before the header check), a 512 px JPEG at max_size 20000 (a SIGSEGV before the max_size bound), the bomb
    inside a batch, and a 4 MB GIF of 2000 frames of 1000x1000 (2 GB of frames for TensorFlow's decoder)."""
    files = {
        "good.png": encode(gradient_image(48, 48), "PNG"),
        "photo.jpg": encode(gradient_image(512, 384), "JPEG"),
        "bomb.png": png_bomb(),
        "frames.gif": flat_gif(1000, 2000),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    requests = {
        "warm up": (["good.png"], 64),
        "bomb": (["bomb.png"], 64),
        "huge max_size": (["photo.jpg"], 20000),
        "batch": (["good.png", "bomb.png", "photo.jpg"], 64),
        "animation": (["frames.gif"], 64),
    }
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    (tmp_path / "serve.py").write_text(REFUSALS)
    result = subprocess.run(
        [sys.executable, "serve.py", str(exported), "requests.json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" |", 1) for line in result.stdout.splitlines() if " |" in line)
    assert "20000x20000 px is over the limit of 50000000 pixels" in lines["bomb"]
    assert "max_size=20000 is outside [32, 2048]" in lines["huge max_size"]
    assert "image_bytes[1]: PNG of 20000x20000 px" in lines["batch"]
    assert lines["warm up"] == lines["animation"] == "ok"
    numbers = dict(line.split() for line in result.stdout.splitlines() if line.split()[0] in ("baseline", "peak"))
    baseline, peak = float(numbers["baseline"]), float(numbers["peak"])
    print(f"peak RSS {peak:.0f} MB, {peak - baseline:.0f} MB over the loaded model's {baseline:.0f} MB")
    assert peak < 2048 and peak - baseline < 512, (baseline, peak)


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


def test_an_existing_version_is_kept_unless_overwrite(tmp_path, shallow_model):
    base = tmp_path / "models"
    absl_logger = absl_logging.get_absl_logger()
    level = absl_logger.level
    absl_logger.setLevel(logging.NOTSET)  # as a caller's: its INFO records go where the root's handlers say
    try:
        first = export_feature_extractor(base, SMALL, model=shallow_model)
        assert absl_logger.level == logging.NOTSET  # saving lowers absl's verbosity: it is put back as it was
    finally:
        absl_logger.setLevel(level)
    assert first == str(base / "1") and (base / "1" / "saved_model.pb").is_file()
    (base / "1" / "marker").write_text("old")
    with pytest.raises(ConfigError, match="already exists"):
        export_feature_extractor(base, SMALL, model=shallow_model)
    assert (base / "1" / "marker").exists()

    export_feature_extractor(base, SMALL, version=2, model=shallow_model)
    export_feature_extractor(base, SMALL, overwrite=True, model=shallow_model)
    assert not (base / "1" / "marker").exists() and (base / "1" / "variables").is_dir()
    assert sorted(os.listdir(base)) == ["1", "2"]  # no temporary directories left behind
    assert set(tf.saved_model.load(str(base / "1")).signatures["gram"].structured_outputs) == set(SMALL.style_layers)


def test_a_failed_export_leaves_the_old_version_in_place(tmp_path, shallow_model, monkeypatch):
    base = tmp_path / "models"
    export_feature_extractor(base, SMALL, model=shallow_model)
    (base / "1" / "marker").write_text("old")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", disk_full)
    with pytest.raises(ExportError, match="No space left on device") as error:
        export_feature_extractor(base, SMALL, overwrite=True, model=shallow_model)
    assert str(base / "1") in str(error.value)
    assert (base / "1" / "marker").exists() and os.listdir(base) == ["1"]


def test_overwrite_renames_the_complete_export_into_place(tmp_path, shallow_model, monkeypatch):
    """After every file system change the export makes, the version is a complete SavedModel, old or new, or
    (between the two renames) missing: never a partial one; nothing is left behind."""
    base = tmp_path / "models"
    export_feature_extractor(base, SMALL, model=shallow_model)
    (base / "1" / "marker").write_text("old")
    seen = []

    def checked(function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            version = base / "1"
            if not version.exists():
                seen.append((function.__name__, "missing"))
            else:
                complete = (version / "saved_model.pb").is_file() and (version / "variables").is_dir()
                seen.append((function.__name__, ("old" if (version / "marker").exists() else "new") * complete))
            return result

        return wrapper

    for module, name in [(os, "rename"), (os, "replace"), (shutil, "rmtree")]:
        monkeypatch.setattr(module, name, checked(getattr(module, name)))
    export_feature_extractor(base, SMALL, overwrite=True, model=shallow_model)
    assert [state for _, state in seen] == ["missing", "new", "new"], seen  # aside, into place, old deleted
    assert sorted(os.listdir(base)) == ["1"]


@pytest.mark.parametrize(
    "limits, fragment",
    [
        ({"max_pixels": 1000}, "--export_max_pixels: must be an integer from 1024"),
        ({"max_pixels": 2.5e7}, "--export_max_pixels"),
        ({"max_size": 31}, "--export_max_size: must be an integer from 32 to 4096"),
        ({"max_size": 5000}, "--export_max_size"),
        ({"max_size": True}, "--export_max_size"),
    ],
)
def test_bad_limits_are_refused_before_work(tmp_path, shallow_model, limits, fragment):
    with pytest.raises(ConfigError, match=fragment):
        export_feature_extractor(tmp_path / "models", SMALL, model=shallow_model, **limits)
    assert not (tmp_path / "models").exists()


def test_the_limits_are_those_given_at_export(tmp_path, shallow_model):
    model = tf.saved_model.load(
        export_feature_extractor(tmp_path, SMALL, model=shallow_model, max_pixels=2000, max_size=100)
    )
    assert {name: int(value) for name, value in model.limits().items()} == {"max_pixels": 2000, "max_size": 100}
    encoded = model.signatures["encoded"]
    assert encoded(image_bytes=tf.constant([encode(gradient_image(50, 40), "PNG")]), max_size=tf.constant(100))
    with pytest.raises(tf.errors.InvalidArgumentError, match="60x40 px is over the limit of 2000 pixels"):
        encoded(image_bytes=tf.constant([encode(gradient_image(60, 40), "PNG")]), max_size=tf.constant(100))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"max_size=101 is outside \[32, 100\]"):
        encoded(image_bytes=tf.constant([encode(gradient_image(50, 40), "PNG")]), max_size=tf.constant(101))
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside 32 to 100 pixels a side"):
        model.signatures["gram"](images=tf.zeros([1, 32, 101, 3]))


@pytest.mark.parametrize(
    "make_dir, version, fragment",
    [
        (lambda d: (d / "file").write_text("x") and d / "file", 1, "is not a directory"),
        (lambda d: (d / "file").write_text("x") and d / "file" / "models", 1, "is not a directory"),
        (lambda d: d / "models", 0, "positive integer"),
        (lambda d: d / "models", "1", "positive integer"),
    ],
)
def test_bad_places_and_versions_are_refused_before_work(tmp_path, shallow_model, make_dir, version, fragment):
    export_dir = make_dir(tmp_path)
    with pytest.raises(ConfigError, match=fragment):
        export_feature_extractor(export_dir, SMALL, version=version, model=shallow_model)
    assert not (tmp_path / "models").exists()


def test_a_model_without_an_exported_layer_is_refused(tmp_path, shallow_model):
    config = SMALL.replace(style_layers=("block1_conv1", "block3_conv1"))
    with pytest.raises(ConfigError, match="block3_conv1"):
        export_feature_extractor(tmp_path / "models", config, model=shallow_model)
    assert not (tmp_path / "models" / "1").exists()


CLI_LAYERS = ["--content_layers=block1_conv2", "--style_layers=block1_conv1,block2_conv1"]


def test_cli_exports_the_flagged_layers_refuses_to_overwrite_and_overwrites(tmp_path):
    base = tmp_path / "savedmodels" / "features"
    result = run_command(f"--export_dir={base}", *CLI_LAYERS, "--pooling=avg")
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
    one_line_error(
        run_command(f"--export_dir={base}", *CLI_LAYERS), 2, str(base / "1"), "already exists", "--overwrite"
    )
    assert (base / "1" / "saved_model.pb").stat().st_mtime_ns == saved.st_mtime_ns

    (base / "1" / "marker").write_text("old")
    result = run_command(
        f"--export_dir={base}",
        *CLI_LAYERS,
        "--overwrite",
        "--export_version=1",
        "--export_max_size=256",
        "--export_max_pixels=100000",
    )
    assert result.returncode == 0, result.stderr
    assert not (base / "1" / "marker").exists() and (base / "1" / "saved_model.pb").is_file()
    assert os.listdir(base) == ["1"]
    limits = tf.saved_model.load(str(base / "1")).limits()
    assert {name: int(value) for name, value in limits.items()} == {"max_pixels": 100_000, "max_size": 256}


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
        (lambda d: ["--export_max_size=64"], "--export_dir"),
        (lambda d: ["--export_dir=models", "--export_max_size=100000"], "--export_max_size"),
    ],
)
def test_cli_export_usage_errors(tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    one_line_error(run_command(*args(tmp_path)), 2, fragment)
    assert not (tmp_path / "models").exists()


def test_cli_export_with_bad_weights_is_a_failure(tmp_path):
    bad = tmp_path / "vgg.h5"
    bad.write_bytes(b"not hdf5")
    one_line_error(run_command(f"--export_dir={tmp_path / 'models'}", f"--weights={bad}", *CLI_LAYERS), 1, str(bad))
    assert not (tmp_path / "models").exists()
