"""Speed, memory and quality of tf_nst on this machine, against the TensorFlow tutorial's loop, in one run.

    python -m bench.speed                                 # 256, 512 and 1024 px, 40 steps each (~25 min, 2 cores)
    python -m bench.speed --sizes=256,512 --steps=20      # less
    python -m bench.speed --modes=naive,lbfgs:auto        # the reference loop and tf_nst's defaults only

Measures, each in its own process so that peak memory is per run:
- the machine's peak: a 3x3, 512-channel convolution in float32 and in bfloat16 (TFLOP/s, best of a few runs);
- per size: seconds per step (one VGG evaluation; median after warm-up) of the reference loop (``bench.reference``,
  mode ``naive``) and of tf_nst with Adam (like with like) and with L-BFGS (its default), each in float32 and in
  its automatic precision;
- the FLOP rate each achieves, as a fraction of the measured peak of its precision;
- peak resident memory (VmHWM), beside tf_nst's own estimate for that optimizer's state;
- quality: the total loss of each result after the same steps from the same start, evaluated in float32.

Prints a table and writes it as JSON to bench/results/. Uses the shared tubingen and starry_night when present,
else the built-in demo images.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import time

from bench import common
from bench.reference import reference_loop

# the reference loop (Adam, float32), then tf_nst as optimizer:precision
MODES = ("naive", "adam:float32", "adam:auto", "lbfgs:float32", "lbfgs:auto")


def step_flops(height: int, width: int, deepest: str) -> int:
    """FLOPs of one optimisation step on a ``height`` x ``width`` image: the VGG-19 convolutions up to
    ``deepest``, forward, times 2 (the backward pass computes only the input gradient, as costly as the
    forward; the weights are frozen). A multiply-add counts 2."""
    from tf_nst.layers import BLOCK_CHANNELS, CONV_LAYERS

    total, inputs = 0, 3
    for name in CONV_LAYERS[: CONV_LAYERS.index(deepest) + 1]:
        block = int(name[5])
        outputs = BLOCK_CHANNELS[block]
        total += 2 * (height >> (block - 1)) * (width >> (block - 1)) * 9 * inputs * outputs
        inputs = outputs
    return 2 * total


def images(size: int):
    """Content and style as float32 [1, H, W, 3] in [0, 1], longest side ``size``, and their source: the shared
    tubingen and starry_night when present, else the built-in demo images."""
    from tf_nst.io.images import as_pixels, fit

    shared = common.shared_images("tubingen", "starry_night")
    sources, name = (map(str, shared), "tubingen + starry_night") if shared else (common.demo_images(), "demo images")
    content, style = (fit(as_pixels(source), size) for source in sources)
    return content, style, name


# --- workers: one measurement each, in a process of its own; each prints one JSON line ---


def conv_peak(repeats: int) -> dict:
    """TFLOP/s of a 3x3 convolution of 512 to 512 channels, float32 and bfloat16: the best of two map sizes
    of VGG's block 4 and 5 at 512 and 1024 px, each the fastest of ``repeats`` runs."""
    import tensorflow as tf

    result = {}
    for dtype in (tf.float32, tf.bfloat16):
        rates = []
        for height, width in ((48, 64), (96, 128)):
            x = tf.cast(tf.random.normal([1, height, width, 512]), dtype)
            w = tf.cast(tf.random.normal([3, 3, 512, 512], stddev=0.02), dtype)
            conv = tf.function(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"))
            conv(x, w).numpy()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                conv(x, w).numpy()
                times.append(time.perf_counter() - start)
            rates.append(2 * height * width * 9 * 512 * 512 / min(times) / 1e12)
        result[dtype.name] = max(rates)
    return result


def tf_nst_loop(content, style, config, steps: int):
    """tf_nst's own loop (StyleTransfer.run), one progress report per step to time each."""
    from tf_nst.api import plan
    from tf_nst.transfer import StyleTransfer

    chosen = plan(content.shape[2:0:-1], style.shape[2:0:-1], config).precision
    elapsed = []
    transfer = StyleTransfer(config.replace(precision=chosen.precision, steps=steps))
    result = transfer.run(content, style, lambda p: elapsed.append(p.elapsed), report_every=1)
    times = [b - a for a, b in zip([0.0] + elapsed, elapsed)]
    return result, times, chosen.precision, chosen.reason


def float32_loss(result, content, style, config) -> float:
    """The total loss of ``result`` in tf_nst's float32 objective."""
    from tf_nst.features import build_feature_model
    from tf_nst.io.weights import load_conv_weights
    from tf_nst.objective import compute_targets, loss_terms

    layers = config.content_layers + config.style_layers
    model = build_feature_model(layers, load_conv_weights(config.weights), config.pooling, "float32")
    targets = compute_targets(model, content, style, config)
    return float(loss_terms(model(result), result, targets, config)["total"])


def run_once(mode: str, size: int, steps: int, warmup: int, overrides: dict) -> dict:
    """One run of ``mode`` (``naive`` or ``optimizer:precision``) at ``size`` px: its row of the table."""
    from tf_nst.config import StyleTransferConfig
    from tf_nst.layers import CONV_LAYERS
    from tf_nst.memory import optimizer_images, peak_bytes

    content, style, source = images(size)
    optimizer, precision = ("adam", "float32") if mode == "naive" else mode.split(":")
    config = StyleTransferConfig(**overrides).replace(max_size=size, precision=precision, optimizer=optimizer)
    if mode == "naive":
        result, times = reference_loop(content, style, config, steps)
        reason = "the reference loop"
    else:
        result, times, precision, reason = tf_nst_loop(content, style, config, steps)
    peak = common.vm_peak_bytes()  # before the float32 evaluation below adds a model of its own
    height, width = content.shape[1:3]
    layers = config.content_layers + config.style_layers
    return {
        "mode": mode,
        "optimizer": config.optimizer,
        "size": size,
        "height": height,
        "width": width,
        "images": source,
        "precision": precision,
        "reason": reason,
        "steps": steps,
        "s_per_step": statistics.median(times[warmup:]),
        "step_times": times,
        "flops_per_step": step_flops(height, width, max(layers, key=CONV_LAYERS.index)),
        "peak_rss": peak,
        "estimated_peak": peak_bytes(
            (width, height),
            style.shape[2:0:-1],
            layers,
            precision,
            "CPU",
            optimizer_images(optimizer, config.history_size),
        ),
        "loss_float32": float32_loss(result, content, style, config),
    }


# --- the driver ---


def work(kind: str, *args: str) -> dict:
    """One measurement: ``peak REPEATS`` (the convolution peak) or ``MODE SIZE STEPS WARMUP [KEY=VALUE ...]``
    (a run with those config fields set)."""
    if kind == "peak":
        return conv_peak(int(args[0]))
    size, steps, warmup = (int(n) for n in args[:3])
    return run_once(kind, size, steps, warmup, common.config_overrides(args[3:]))


def table(peak: dict, runs: list[dict]) -> str:
    columns = "size loop optimizer precision s/step speed-up TFLOP/s of_peak peak_RSS estimate loss_float32".split()
    lines = ["| " + " | ".join(c.replace("_", " ") for c in columns) + " |", "|" + "---|" * len(columns)]
    for run in runs:
        reference = next(r for r in runs if r["size"] == run["size"] and r["mode"] == "naive")
        rate = run["flops_per_step"] / run["s_per_step"] / 1e12
        name = "reference" if run["mode"] == "naive" else "tf_nst" + " auto" * run["mode"].endswith(":auto")
        lines.append(
            f"| {run['width']}x{run['height']} | {name} | {run['optimizer']} | {run['precision']} "
            f"| {run['s_per_step']:.3f} "
            f"| {reference['s_per_step'] / run['s_per_step']:.2f}x | {rate:.2f} | {rate / peak[run['precision']]:.0%} "
            f"| {run['peak_rss'] / 2**30:.2f} GB | {run['estimated_peak'] / 2**30:.2f} GB | {run['loss_float32']:.4g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024", help="longest sides, comma-separated")
    parser.add_argument("--steps", type=int, default=40, help="steps per run (the loss is compared after these)")
    parser.add_argument("--warmup", type=int, default=3, help="first steps left out of the timing (tracing)")
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats of the peak convolution")
    parser.add_argument("--modes", default=",".join(MODES), help="naive and optimizer:precision pairs, comma-separated")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=common.SET_HELP)
    parser.add_argument("--results", default=str(common.RESULTS), help="folder for the JSON report")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(work(*args.worker)))
        return

    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")
    try:
        common.config_overrides(args.set, reserved=("max_size", "steps", "optimizer", "precision"))
    except ValueError as err:
        parser.error(str(err))
    modes = [m for m in args.modes.split(",") if m]
    if "naive" not in modes:
        modes.insert(0, "naive")  # the speed-ups are ratios to it
    started = time.perf_counter()
    report = {"machine": common.machine(), "args": vars(args) | {"worker": None}}
    print(f"machine: {report['machine']}", flush=True)
    report["peak_tflops"] = common.measure_apart("bench.speed", "peak", str(args.repeats))
    print("peak 3x3 conv, 512 channels: " + ", ".join(f"{k} {v:.2f} TFLOP/s" for k, v in report["peak_tflops"].items()))
    runs = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for mode in modes:
            run = common.measure_apart("bench.speed", mode, str(size), str(args.steps), str(args.warmup), *args.set)
            runs.append(run)
            print(
                f"  {size} px {mode:13s} {run['precision']:9s} {run['s_per_step']:.3f} s/step  "
                f"peak {run['peak_rss'] / 2**30:.2f} GB  loss {run['loss_float32']:.4g}  ({run['reason']})",
                flush=True,
            )
    report["runs"] = runs
    report["seconds"] = time.perf_counter() - started
    report["load_average_at_end"] = os.getloadavg()
    print()
    print(table(report["peak_tflops"], runs))
    print(f"\n{report['seconds']:.0f} s in all; load average at end {report['load_average_at_end']}")
    path = pathlib.Path(args.results) / time.strftime("speed-%Y%m%d-%H%M%S.json")
    common.write_json(path, report)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
