"""Speed, memory and quality of tf_nst on this machine, against a plain TensorFlow loop, in one run.

    python bench/bench.py                                 # 256, 512 and 1024 px, 40 steps each (~25 min, 2 cores)
    python bench/bench.py --sizes=256,512 --steps=20      # less
    python bench/bench.py --modes=naive,lbfgs:auto        # the reference loop and tf_nst's defaults only

Measures, each in its own process so that peak memory is per run:
- the machine's peak: a 3x3, 512-channel convolution in float32 and in bfloat16 (TFLOP/s, best of a few runs);
- per size: seconds per step (one VGG evaluation; median after warm-up) of a naive float32 loop written here the
  way the TensorFlow tutorial does it (keras.applications VGG-19 with the same weights, same layers and losses,
  Adam, a plain tf.function step), and of tf_nst with Adam (like with like) and with L-BFGS (its default), each
  in float32 and in its automatic precision;
- the FLOP rate each achieves, as a fraction of the measured peak of its precision;
- peak resident memory (VmHWM), beside tf_nst's own estimate for that optimizer's state;
- quality: the total loss of each result after the same steps from the same start, evaluated in float32.

Prints a table and writes it as JSON to bench/results/. Uses ../shared/images/tubingen.jpg and starry_night.jpg
beside the checkout when present, else the built-in demo images.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPO.parent / "shared" / "images"
RESULTS = REPO / "bench" / "results"
# the reference loop (Adam, float32), then tf_nst as optimizer:precision
MODES = ("naive", "adam:float32", "adam:auto", "lbfgs:float32", "lbfgs:auto")

sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def step_flops(height: int, width: int, deepest: str) -> int:
    """FLOPs of one optimisation step on a ``height`` x ``width`` image: the VGG-19 convolutions up to
    ``deepest``, forward, times 2 (the backward pass computes only the input gradient, as costly as the
    forward; the weights are frozen). A multiply-add counts 2."""
    from tf_nst.features import CONV_LAYERS, VGG19_BLOCKS

    channels = {block: c for block, _, c in VGG19_BLOCKS}
    total, inputs = 0, 3
    for name in CONV_LAYERS[: CONV_LAYERS.index(deepest) + 1]:
        block = int(name[5])
        outputs = channels[block]
        total += 2 * (height >> (block - 1)) * (width >> (block - 1)) * 9 * inputs * outputs
        inputs = outputs
    return 2 * total


def vm_peak_bytes() -> int:
    """This process's peak resident memory (VmHWM) in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def images(size: int):
    """Content and style as float32 [1, H, W, 3] in [0, 1], longest side ``size``, and their source."""
    from tf_nst.io.demo import demo_content, demo_style
    from tf_nst.io.images import as_pixels, fit

    if (SHARED_IMAGES / "tubingen.jpg").exists() and (SHARED_IMAGES / "starry_night.jpg").exists():
        sources = SHARED_IMAGES / "tubingen.jpg", SHARED_IMAGES / "starry_night.jpg"
        name = "tubingen + starry_night"
    else:
        sources, name = (demo_content(), demo_style()), "demo images"
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


def naive_loop(content, style, config, steps: int):
    """The TensorFlow-tutorial way, kept plain on purpose: float32 Keras VGG-19, einsum Grams, autodiff; the
    objective is tf_nst's (same layers, weights and per-layer normalisation), so the losses compare."""
    import keras
    import tensorflow as tf

    from tf_nst.io.weights import load_conv_weights

    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    weights = load_conv_weights(config.weights)
    for layer in vgg.layers:
        if layer.name in weights:
            layer.set_weights(list(weights[layer.name]))
    vgg.trainable = False
    names = list(config.style_layers) + list(config.content_layers)
    model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in names])

    def features(image):
        outputs = model(keras.applications.vgg19.preprocess_input(image * 255.0))
        return outputs[: len(config.style_layers)], outputs[len(config.style_layers) :]

    def gram(x):
        return tf.einsum("bijc,bijd->bcd", x, x) / tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)

    style_targets = [gram(x) for x in features(style)[0]]
    content_targets = features(content)[1]
    style_norms = [float(tf.reduce_mean(t**2)) + 1e-12 for t in style_targets]
    content_norms = [float(tf.reduce_mean(t**2)) + 1e-12 for t in content_targets]
    layer_weights = list(config.layer_weights.values())

    image = tf.Variable(content)
    optimizer = keras.optimizers.Adam(config.learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            style_out, content_out = features(image)
            style_loss = tf.add_n(
                [
                    w / n * tf.reduce_mean((gram(x) - t) ** 2)
                    for x, t, n, w in zip(style_out, style_targets, style_norms, layer_weights)
                ]
            )
            content_loss = tf.add_n(
                [tf.reduce_mean((x - t) ** 2) / n for x, t, n in zip(content_out, content_targets, content_norms)]
            ) / len(content_out)
            loss = config.content_weight * content_loss + config.style_weight * style_loss
            if config.tv_weight:  # tf_nst's total variation: mean absolute neighbour difference, both ways
                dy = tf.reduce_mean(tf.abs(image[:, 1:] - image[:, :-1]))
                dx = tf.reduce_mean(tf.abs(image[:, :, 1:] - image[:, :, :-1]))
                loss += config.tv_weight * (dx + dy)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
    return tf.convert_to_tensor(image), times, "float32", "the reference loop"


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


def run_once(mode: str, size: int, steps: int, warmup: int) -> dict:
    from tf_nst.config import StyleTransferConfig
    from tf_nst.features import CONV_LAYERS
    from tf_nst.memory import optimizer_images, peak_bytes

    content, style, source = images(size)
    optimizer, precision = ("adam", "float32") if mode == "naive" else mode.split(":")
    config = StyleTransferConfig(max_size=size, precision=precision, optimizer=optimizer)
    loop = naive_loop if mode == "naive" else tf_nst_loop
    result, times, precision, reason = loop(content, style, config, steps)
    peak = vm_peak_bytes()  # before the float32 evaluation below adds a model of its own
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


def work(kind: str, *numbers: str) -> dict:
    """One measurement: ``peak REPEATS`` (the convolution peak) or ``MODE SIZE STEPS WARMUP`` (a run)."""
    if kind == "peak":
        return conv_peak(int(numbers[0]))
    size, steps, warmup = (int(n) for n in numbers)
    return run_once(kind, size, steps, warmup)


def worker(*args: str) -> dict:
    """``work(*args)`` in a fresh process (``bench.py --worker ARGS``), so each run's peak memory is its own."""
    process = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, env=dict(os.environ)
    )
    if process.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import importlib.metadata

    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown"
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "tensorflow": importlib.metadata.version("tensorflow"),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


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
    parser.add_argument("--results", default=str(RESULTS), help="folder for the JSON report")
    parser.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(work(*args.worker)))
        return

    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")
    modes = [m for m in args.modes.split(",") if m]
    if "naive" not in modes:
        modes.insert(0, "naive")  # the speed-ups are ratios to it
    started = time.perf_counter()
    report = {"machine": machine(), "args": vars(args) | {"worker": None}}
    print(f"machine: {report['machine']}", flush=True)
    report["peak_tflops"] = worker("peak", str(args.repeats))
    print("peak 3x3 conv, 512 channels: " + ", ".join(f"{k} {v:.2f} TFLOP/s" for k, v in report["peak_tflops"].items()))
    runs = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for mode in modes:
            run = worker(mode, str(size), str(args.steps), str(args.warmup))
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
    results = pathlib.Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    path = results / time.strftime("bench-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
