"""The reference every timing is divided by: a float32 loop written the way the TensorFlow tutorial writes it
(Keras' VGG-19 with tf_nst's embedded weights, einsum Grams, Adam, a plain ``tf.function`` step), kept plain on
purpose. Its objective is tf_nst's Gram objective (same layers, layer weights and per-layer normalisation), so
its losses compare with tf_nst's."""

from __future__ import annotations

import statistics
import time


def reference_loop(content, style, config, steps: int):
    """``steps`` steps of the loop from ``content`` towards ``style`` (float32 ``[1, H, W, 3]`` in [0, 1]) with
    ``config``'s layers and weights: (the image ``[1, H, W, 3]``, the seconds of each step)."""
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
    return tf.convert_to_tensor(image), times


def reference_step_seconds(content, style, config, steps: int = 6) -> float:
    """The median seconds of one step of the loop on ``content`` and ``style`` (as ``reference_loop`` takes
    them), over ``steps`` steps after one that traces."""
    return statistics.median(reference_loop(content, style, config, steps + 1)[1][1:])
