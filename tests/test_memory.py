"""The memory estimate, the budget, and the refusal of runs that would not fit."""

import pytest
from conftest import gradient_image

import tf_nst
from tf_nst.config import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from tf_nst.memory import (
    MB,
    MemoryBudget,
    conv_parameters,
    layer_elements,
    meminfo_available,
    memory_budget,
    optimizer_images,
    peak_bytes,
    resident_bytes,
)
from tf_nst.planning import Level, check_fits, largest_fitting, level_peak_bytes, mechanisms

LAYERS = PAPER_CONTENT_LAYERS + PAPER_STYLE_LAYERS


def square(side: int, precision: str = "float32") -> int:
    return peak_bytes((side, side), (side, side), LAYERS, precision)


def test_vgg_sizes_are_counted_exactly():
    assert conv_parameters("block5_conv4") == 20_024_384  # VGG-19's convolutional part
    elements = layer_elements(64, 96, "block2_conv1")
    assert elements == {
        "block1_conv1": 64 * 96 * 64,
        "block1_conv2": 64 * 96 * 64,
        "block1_pool": 32 * 48 * 64,
        "block2_conv1": 32 * 48 * 128,
    }


def test_estimate_grows_with_size_and_shrinks_with_bfloat16():
    estimates = [square(side) for side in (64, 128, 256, 512, 1024, 2048)]
    assert estimates == sorted(set(estimates))
    growth = (estimates[-1] - estimates[0]) / (estimates[-2] - estimates[0])
    assert 3.5 < growth < 4.5  # the size-dependent part follows the pixel count
    assert square(2048, "bfloat16") < 0.8 * square(2048)
    assert peak_bytes((512, 512), (512, 512), ("block1_conv1",), "float32") < square(512)
    assert peak_bytes((512, 512), (2048, 2048), LAYERS, "float32") > square(512)  # a large style image counts too


def test_largest_fitting_size():
    assert largest_fitting(lambda side: side * 10, limit=1000, upper=512) == 100
    assert largest_fitting(lambda side: side * 10, limit=10_000, upper=512) == 512
    assert largest_fitting(lambda side: side * 10, limit=100, upper=512) is None


def test_refusal_names_the_largest_size_that_fits():
    limit = (square(64) + square(128)) // 2
    budget = MemoryBudget(limit, "allowed by --memory_limit_mb", "CPU")
    assert check_fits(square, 64, budget, "float32") == square(64)
    with pytest.raises(tf_nst.InsufficientMemoryError) as raised:
        check_fits(square, 128, budget, "float32", lambda side: square(side, "bfloat16"))
    largest = largest_fitting(square, limit, 128)
    assert 64 <= largest < 128
    message = str(raised.value)
    assert message.startswith("--max_size=128: needs about") and "\n" not in message
    assert f"the largest --max_size that fits is {largest}" in message
    assert isinstance(raised.value, tf_nst.ConfigError)


def test_nothing_fits_says_so():
    with pytest.raises(tf_nst.InsufficientMemoryError, match="not even 32 px fits .raise --memory_limit_mb."):
        check_fits(square, 64, MemoryBudget(MB, "allowed by --memory_limit_mb", "CPU"), "float32")


def test_budget_from_the_limit_or_the_machine(tmp_path):
    assert memory_budget(300, on_gpu=False) == MemoryBudget(300 * MB, "allowed by --memory_limit_mb", "CPU")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   2000000 kB\n")
    assert meminfo_available(str(meminfo)) == 2_048_000_000
    assert meminfo_available(str(tmp_path / "missing")) is None
    assert resident_bytes() > 10 * MB


def test_plan_refuses_a_tiny_run_over_a_small_limit():
    config = tf_nst.StyleTransferConfig(max_size=128, precision="float32")
    fits = tf_nst.plan((128, 96), (64, 64), config)
    assert fits.precision.precision == "float32" and fits.memory_bytes > 0
    assert {level.mechanism.describe() for level in fits.levels} == {"plain"}
    leanest = Level((128, 96), (64, 64), 1, mechanisms(config.optimizer, config.history_size)[-1])
    with pytest.raises(tf_nst.InsufficientMemoryError, match="largest --max_size that fits is"):
        limit = level_peak_bytes(leanest, config, "float32") // MB - 1
        tf_nst.plan((128, 96), (64, 64), config.replace(memory_limit_mb=limit))


def test_a_print_that_does_not_fit_plain_is_planned_in_tiles():
    config = tf_nst.StyleTransferConfig(max_size=4096, precision="bfloat16", memory_limit_mb=6000)
    print_plan = tf_nst.plan((4096, 2845), (1024, 640), config)
    coarse, last = print_plan.levels
    assert coarse.mechanism.tile and last.mechanism.tile  # 2048 px plain would need more than 6000 MB too
    assert max(coarse.memory_bytes, last.memory_bytes) == print_plan.memory_bytes <= 6000 * MB
    unlimited = tf_nst.plan((4096, 2845), (1024, 640), config.replace(memory_limit_mb=32_000))
    assert [level.mechanism.describe() for level in unlimited.levels] == ["plain", "plain"]
    assert last.style_size == (2048, 1280)  # the painting is not enlarged beyond the first level's size
    with pytest.raises(tf_nst.InsufficientMemoryError, match="largest --max_size that fits is") as refused:
        tf_nst.plan((4096, 2845), (1024, 640), config.replace(memory_limit_mb=1500))
    largest = int(str(refused.value).split("fits is ")[1].split(";")[0])
    tf_nst.plan((4096, 2845), (1024, 640), config.replace(memory_limit_mb=1500, max_size=largest))


def test_stylize_refuses_before_any_work():
    calls = []
    with pytest.raises(tf_nst.InsufficientMemoryError):
        tf_nst.stylize(gradient_image(64, 64), gradient_image(64, 64), memory_limit_mb=1, callback=calls.append)
    assert calls == []


def test_lbfgs_history_is_part_of_the_estimate():
    adam = peak_bytes((2048, 1536), (2048, 1536), LAYERS, "bfloat16", optimizer_state=optimizer_images("adam", 20))
    lbfgs = peak_bytes((2048, 1536), (2048, 1536), LAYERS, "bfloat16", optimizer_state=optimizer_images("lbfgs", 20))
    assert lbfgs - adam >= (optimizer_images("lbfgs", 20) - 2) * 3 * 2048 * 1536 * 4  # pairs, working vectors
