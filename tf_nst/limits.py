"""The size limits tf_nst enforces, each defined once (no TensorFlow here).

``MAX_INPUT_PIXELS`` bounds an image the command, the library or Beam reads (``--max_input_pixels``, checked
from the file's header before decoding): 100 MP, a 10000 x 10000 photo, whose float32 pixels alone take 1.2 GB.

The exported model's limits are fixed at export time (``--export_max_pixels``, ``--export_max_size``) and
protect a server, which decodes whatever its clients send, several requests at once: by default half the local
input limit, 50 MP per file, and 2048 px a side (one 2048 px image took 2.4 GB through the default layers).
``EXPORT_MAX_SIZE_CEILING`` is the largest side an export may allow (about 9 GB per image at 4096 px).
"""

MAX_INPUT_PIXELS = 100_000_000
EXPORT_MAX_PIXELS = 50_000_000
EXPORT_MAX_SIZE = 2048
EXPORT_MAX_SIZE_CEILING = 4096
