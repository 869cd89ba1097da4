"""The run's configuration, ``StyleTransferConfig``: each bad value is a ConfigError naming its flag."""

import pytest

import tf_nst


@pytest.mark.parametrize(
    "change, message",
    [
        ({"steps": 0}, "--steps"),
        ({"max_size": 16}, "--max_size"),
        ({"style_weight": -1.0}, "--style_weight"),
        ({"learning_rate": 0.0}, "--learning_rate"),
        ({"content_layers": ("block9_conv1",)}, "unknown layer 'block9_conv1'"),
        ({"style_layer_weights": (1.0, 2.0)}, "2 weights for 5 style layers"),
        ({"init": "zeros"}, "--init"),
        ({"pooling": "min"}, "--pooling"),
    ],
)
def test_bad_settings_raise_config_errors(change, message):
    with pytest.raises(tf_nst.ConfigError, match=message):
        tf_nst.StyleTransferConfig(**change)
