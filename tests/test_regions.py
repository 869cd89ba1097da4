"""Regions: a mask's colours as regions, masks at each layer's grid, each region's statistics, the kept region,
tiles with regions, the errors, and whole runs through the package and the command."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import QUICK_RUN, SHALLOW, SHALLOW_LAYERS, gradient_image, one_line_error, run_command
from PIL import Image

import tf_nst
from tf_nst import losses
from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ImageError
from tf_nst.objective import (
    RegionTargets,
    compute_targets,
    loss_terms,
    region_style_targets,
    style_targets,
)
from tf_nst.planning import Mechanism
from tf_nst.regions import layer_weights, parse_region_styles, pooled_masks, read_regions, soft_masks
from tf_nst.tiles import TiledObjective


def halves(height: int, width: int) -> np.ndarray:
    """A black-and-white mask, uint8 [H, W, 3]: black left half, white right half."""
    mask = np.zeros((height, width, 3), np.uint8)
    mask[:, width // 2 :] = 255
    return mask


def test_regions_are_colours_dark_to_light_and_edge_colours_join_the_nearest():
    mask = np.full((40, 60, 3), 255, np.uint8)
    mask[:, :20] = (200, 0, 0)  # red: luma 60, darker than white
    mask[:, 20:40] = 0
    mask[:, 39] = (30, 30, 30)  # an antialiased edge column (1.7% of the pixels) is its own colour...
    mask[:5, 39] = (170, 10, 10)  # ...and a few edge pixels (0.2%) join the nearest region: red
    regions = read_regions(mask, "mask.png")
    assert regions.colours.tolist() == [[0, 0, 0], [30, 30, 30], [200, 0, 0], [255, 255, 255]]
    assert regions.labels[10, 0] == 2 and regions.labels[10, 25] == 0 and regions.labels[10, 50] == 3
    assert regions.labels[0, 39] == 2 and regions.labels[10, 39] == 1
    assert regions.describe(3) == "region 4 (#ffffff)"


def test_a_mask_of_one_colour_is_refused():
    with pytest.raises(ImageError, match="mask.png: the mask has one colour"):
        read_regions(np.zeros((40, 40, 3), np.uint8), "mask.png")


def test_region_styles_default_to_region_i_style_i_and_refuse_mismatches():
    regions = read_regions(halves(40, 40), "m.png")
    assert parse_region_styles(None, regions, 2) == [(0,), (1,)]
    assert parse_region_styles(("2+1", "keep"), regions, 2) == [(0, 1), ()]
    with pytest.raises(ConfigError, match="m.png has 2 regions and there are 1 styles"):
        parse_region_styles(None, regions, 1)
    with pytest.raises(ConfigError, match="style 2 has no region in m.png"):
        parse_region_styles(("1", "keep"), regions, 2)
    with pytest.raises(ConfigError, match="3 entries for the 2 regions"):
        parse_region_styles(("1", "2", "1"), regions, 2)
    with pytest.raises(ConfigError, match="'3' names no style"):
        parse_region_styles(("1", "3"), regions, 2)
    with pytest.raises(ConfigError, match="--region_styles: 'sky' is not"):
        StyleTransferConfig(region_styles=("1", "sky"))


def test_soft_masks_sum_to_one_and_feather_the_edge():
    regions = read_regions(halves(20, 40), "m.png")
    sharp = soft_masks(regions, (80, 40), 0.0)
    np.testing.assert_array_equal(sharp[1, :, :39], 0.0)
    np.testing.assert_array_equal(sharp[1, :, 41:], 1.0)
    soft = soft_masks(regions, (80, 40), 4.0)
    np.testing.assert_allclose(soft.sum(0), 1.0, rtol=1e-6)
    assert 0.05 < soft[1, 20, 36] < 0.5 < soft[1, 20, 44] < 0.95  # a ramp across the border
    np.testing.assert_allclose(soft[1, :, :20], 0.0, atol=1e-6)  # and no further than 3 sigma


def test_masks_at_each_layers_grid_are_cell_means_divided_by_the_region_total():
    masks = np.zeros((2, 70, 64), np.float32)
    masks[0, :, :24] = 1.0  # 24 px: three stride-8 cells, a stride-16 cell and a half
    masks[1] = 1.0 - masks[0]
    pooled = pooled_masks(masks, 16)
    assert pooled.shape == (2, 4, 4)  # 70 // 16 rows: the partial row is dropped as VGG's pooling drops it
    np.testing.assert_array_equal(pooled[0, 0], [1.0, 0.5, 0.0, 0.0])
    weights = layer_weights(masks, ["block1_conv1", "block4_conv1", "block5_conv1"])
    assert {n: w.shape for n, w in weights.items()} == {
        "block1_conv1": (2, 70, 64, 1),
        "block4_conv1": (2, 8, 8, 1),
        "block5_conv1": (2, 4, 4, 1),
    }
    np.testing.assert_allclose(weights["block4_conv1"][0, :, :3, 0], 1.0 / 24)  # 8 rows x 3 columns
    np.testing.assert_array_equal(weights["block4_conv1"][0, :, 3:], 0.0)
    np.testing.assert_allclose(weights["block5_conv1"][0, :, :2, 0], [[1 / 6, 1 / 12]] * 4)
    for w in weights.values():
        np.testing.assert_allclose(w.sum(axis=(1, 2, 3)), 1.0, rtol=1e-6)


def test_a_regions_statistics_are_its_own_positions_moments():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(1, 6, 8, 5)).astype(np.float32)
    weights = np.zeros((2, 6, 8, 1), np.float32)
    weights[0, :, :3] = 1.0 / 18
    weights[1, :, 3:] = 1.0 / 30
    mean = losses.weighted_mean(features, weights).numpy()
    gram = losses.weighted_gram(tf.constant(features), weights).numpy()
    for region, columns in enumerate([slice(0, 3), slice(3, 8)]):
        part = features[0, :, columns].reshape(-1, 5)
        np.testing.assert_allclose(mean[region], part.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gram[region], part.T @ part / len(part), rtol=1e-5, atol=1e-6)
    uniform = np.full((1, 6, 8, 1), 1.0 / 48, np.float32)
    np.testing.assert_allclose(
        losses.weighted_gram(tf.constant(features), uniform)[0], losses.gram_matrix(features)[0], rtol=1e-5
    )


def region_setup(model, config, size=(64, 48)):
    """An image whose left half is one picture and right half another, its two regions' weights, and targets
    whose region i is the style of half i."""
    width, height = size
    left, right = gradient_image(width, height, 1), gradient_image(width, height, 2)[:, ::-1]
    image = np.concatenate([left[:, : width // 2], right[:, width // 2 :]], axis=1)[None].astype(np.float32) / 255
    masks = soft_masks(read_regions(halves(height, width), "m.png"), size, 0.0)
    weights = layer_weights(masks, config.style_layers)
    per_region = []
    for region in range(2):
        styles = [tf.constant(image)]
        per_region.append(
            style_targets(model, styles, [1.0], config, masks=[{n: w[region : region + 1] for n, w in weights.items()}])
        )
    return image, masks, weights, region_style_targets(per_region, [0.5, 0.5])


@pytest.mark.parametrize("style_loss", ["gaussian", "gram"])
def test_each_region_is_matched_to_its_own_style(shallow_model, style_loss):
    config = StyleTransferConfig(precision="float32", style_loss=style_loss, **SHALLOW)
    image, masks, weights, styles = region_setup(shallow_model, config)
    image = tf.constant(image)

    def style(region_weights):
        targets = compute_targets(shallow_model, image, styles, config, regions=RegionTargets(region_weights))
        return float(loss_terms(shallow_model(image), image, targets, config)["style"])

    own, swapped = style(weights), style({n: w[::-1] for n, w in weights.items()})
    if style_loss == "gram":
        assert abs(own) < 1e-9 < 0.01 < swapped
    else:  # the matrix roots' iterations leave a distance of a random network's features to themselves
        whole = compute_targets(shallow_model, image, image, config)
        itself = float(loss_terms(shallow_model(image), image, whole, config)["style"])
        assert own < 1.1 * itself < 0.8 * swapped


def test_tiled_objective_with_regions_and_a_kept_region_equals_the_plain_one(random_model):
    config = StyleTransferConfig(precision="float32", keep_weight=5.0)
    image, masks, weights, styles = region_setup(random_model, config, (128, 96))
    kept = masks[1][None, ..., None] * 0.5
    content = tf.constant(image)
    targets = compute_targets(random_model, content, styles, config, regions=RegionTargets(weights, kept))
    rng = np.random.default_rng(1)
    moved = tf.Variable(tf.clip_by_value(content + rng.normal(0, 0.1, content.shape).astype(np.float32), 0, 1))
    with tf.GradientTape() as tape:
        plain = loss_terms(random_model(moved, training=False), moved, targets, config)
    expected = tape.gradient(plain["total"], moved)
    assert float(plain["keep"]) > 0
    tiled = TiledObjective(random_model, moved.shape, config, 48, targets, region_weights=targets.region_weights)
    terms, gradient = tiled.loss_and_gradient(moved)
    for name in ("content", "style", "tv", "keep", "total"):
        np.testing.assert_allclose(float(terms[name]), float(plain[name]), rtol=1e-4)
    assert float(tf.norm(gradient - expected) / tf.norm(expected)) < 1e-4


def flat_painting(colour, size=(48, 48), seed=0):
    """A painting of one colour with a little texture, uint8 [H, W, 3]."""
    rng = np.random.default_rng(seed)
    return np.clip(np.array(colour, np.float32) + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255).astype(np.uint8)


RUN = dict(max_size=64, steps=30, scales=1, precision="float32", **SHALLOW)


@pytest.mark.parametrize("neighbor_weight", [0.0, 3.0])
def test_each_region_takes_its_own_paintings_colours(neighbor_weight):
    photo = gradient_image(64, 48, 3)
    red, blue = flat_painting((220, 40, 40)), flat_painting((40, 60, 220), seed=1)
    run = dict(RUN, region_feather=0.0, neighbor_weight=neighbor_weight, neighbor_min_side=32)
    result = tf_nst.stylize(photo, [red, blue], regions=halves(48, 64), **run).numpy()[0]
    left, right = result[:, :24].reshape(-1, 3).mean(0), result[:, 40:].reshape(-1, 3).mean(0)
    assert left[0] > left[2] + 0.15 and right[2] > right[0] + 0.15


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_a_kept_region_stays_the_photo_while_the_rest_is_painted(precision):
    photo = gradient_image(64, 48, 3)
    red = flat_painting((220, 40, 40))
    run = dict(RUN, precision=precision, scales=2, max_size=96)
    result = tf_nst.stylize(photo, red, regions=halves(48, 64), region_styles=("1", "keep"), **run).numpy()[0]
    expected = np.asarray(Image.fromarray(photo).resize(result.shape[1::-1], Image.BILINEAR), np.float32) / 255
    painted = np.abs(result[:, :36] - expected[:, :36]).mean()
    kept = np.abs(result[:, 60:] - expected[:, 60:]).mean()
    assert np.isfinite(result).all() and kept < 0.03 < 0.1 < painted


def test_a_style_mask_chooses_the_part_of_the_painting_that_gives_the_style():
    painting = np.concatenate([flat_painting((220, 40, 40)), flat_painting((40, 60, 220), seed=1)], axis=1)
    part = halves(48, 96)  # white: the blue half
    photo = gradient_image(64, 48, 3)
    result = tf_nst.stylize(photo, painting, style_masks=[part], **RUN).numpy()[0]
    mean = result.reshape(-1, 3).mean(0)
    assert mean[2] > mean[0] + 0.15


def write(path, pixels):
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.mark.parametrize(
    "make_mask, flags, status, message",
    [
        (lambda: halves(64, 40), [], 1, "is not the aspect ratio of"),
        (lambda: np.zeros((48, 64, 3), np.uint8), [], 1, "the mask has one colour"),
        (lambda: halves(48, 64), ["--region_styles=1,2,1"], 2, "3 entries for the 2 regions"),
        (
            lambda: np.where(np.arange(64)[None, :, None] < 2, 255, 0).repeat(48, 0).repeat(3, 2).astype(np.uint8),
            ["--style_layers=block1_conv1,block4_conv1", "--style_layer_weights=equal"],
            1,
            "is too small",
        ),
        (
            lambda: (
                np.dstack([np.where(np.arange(64) < 21, 255, 0).astype(np.uint8)[None].repeat(48, 0)] * 3)
                + np.where(np.arange(64) > 42, 128, 0).astype(np.uint8)[None, :, None]
            ),
            [],
            2,
            "has 3 regions and there are 2 styles",
        ),
    ],
    ids=["aspect", "empty", "entries", "too-small", "more-regions-than-styles"],
)
def test_bad_masks_get_one_line_and_no_output(tmp_path, make_mask, flags, status, message):
    photo = write(tmp_path / "photo.png", gradient_image(64, 48))
    style = write(tmp_path / "style.png", gradient_image(48, 48, 1))
    mask = write(tmp_path / "mask.png", make_mask())
    output = tmp_path / "out.png"
    run = run_command(
        f"--content={photo}", f"--style={style},{style}", f"--regions={mask}", f"--output={output}", *QUICK_RUN, *flags
    )
    one_line_error(run, status, message)
    assert not output.exists()


def test_a_batch_refuses_regions(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write(folder / "a.png", gradient_image(64, 48))
    style = write(tmp_path / "style.png", gradient_image(48, 48, 1))
    mask = write(tmp_path / "mask.png", halves(48, 64))
    run = run_command(
        f"--content={folder}", f"--style={style}", f"--regions={mask}", f"--output={tmp_path / 'out'}", *QUICK_RUN
    )
    one_line_error(run, 2, "--regions: masks one photo")


def test_the_command_paints_two_regions_and_keeps_one(tmp_path):
    photo = write(tmp_path / "photo.png", gradient_image(64, 48))
    red = write(tmp_path / "red.png", flat_painting((220, 40, 40)))
    mask = write(tmp_path / "mask.png", halves(48, 64))
    output = tmp_path / "out.png"
    run = run_command(
        f"--content={photo}",
        f"--style={red}",
        f"--regions={mask}",
        "--region_styles=1,keep",
        "--region_feather=2",
        f"--output={output}",
        "--max_size=64",
        "--steps=20",
        "--scales=1",
        *SHALLOW_LAYERS,
    )
    assert run.returncode == 0, run.stderr
    result = np.asarray(Image.open(output), np.float32) / 255
    source = gradient_image(64, 48) / 255
    assert np.abs(result[:, 48:] - source[:, 48:]).mean() < 0.05 < 0.1 < np.abs(result[:, :16] - source[:, :16]).mean()


@pytest.mark.parametrize("neighbor_weight", [0.0, 3.0])
def test_a_run_with_regions_in_tiles_follows_the_plain_run(shallow_model, neighbor_weight):
    config = StyleTransferConfig(
        precision="float32", steps=3, neighbor_weight=neighbor_weight, neighbor_min_side=32, **SHALLOW
    )
    transfer = tf_nst.StyleTransfer(config, model=shallow_model)
    photo = tf.constant(gradient_image(96, 64)[None] / 255.0, tf.float32)
    styles = [tf.constant(flat_painting(c)[None] / 255.0, tf.float32) for c in ((220, 40, 40), (40, 60, 220))]
    masks = soft_masks(read_regions(halves(64, 96), "m.png"), (96, 64), 2.0)
    weights = layer_weights(masks, config.style_layers)
    per_region = [transfer.style_targets([style]) for style in styles]
    targets = region_style_targets(per_region, [0.5, 0.5])
    regions = RegionTargets({n: weights[n] for n in config.style_layers}, masks[1][None, ..., None] * 0.5)
    runs = []
    for mechanism in (Mechanism(), Mechanism(32)):  # 6 tiles
        progress = []
        result = transfer.run(photo, targets, progress.append, 1, mechanism=mechanism, regions=regions)
        runs.append(([p.losses["total"] for p in progress], result))
    (plain, plain_image), (tiled, tiled_image) = runs
    np.testing.assert_allclose(tiled, plain, rtol=1e-4)
    assert float(tf.reduce_max(tf.abs(tiled_image - plain_image))) < 1e-2


def test_a_region_can_take_a_blend_of_styles():
    photo = gradient_image(64, 48, 3)
    red, blue = flat_painting((220, 40, 40)), flat_painting((40, 60, 220), seed=1)
    run = dict(RUN, region_styles=("1+2", "keep"), region_feather=0.0)
    result = tf_nst.stylize(photo, [red, blue], regions=halves(48, 64), **run).numpy()[0]
    blended = result[:, :24].reshape(-1, 3).mean(0)
    assert blended[0] > 0.3 and blended[2] > 0.3  # red and blue both there: purple, not either alone
