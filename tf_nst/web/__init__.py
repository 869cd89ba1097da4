"""The local web app (``tf-nst --serve``): drop a photo, pick paintings, watch it being painted, download it.

It needs the ``web`` extra (``pip install 'tf_nst[web]'``: Starlette, uvicorn and python-multipart). This
module imports neither them nor TensorFlow: ``serve`` checks the extra is there, then starts the server
(``tf_nst.web.server``). The app's parts: ``settings`` (the page's controls), ``pictures`` (the demo images and
uploads), ``jobs`` (the queue and its one worker), ``app`` (the routes) and ``static`` (the page).
"""

from __future__ import annotations

import importlib.util

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import TfNstError

REQUIRED = {"starlette": "starlette", "uvicorn": "uvicorn", "python_multipart": "python-multipart"}  # module: package


class WebUnavailable(TfNstError):
    """The ``web`` extra is not installed."""


def serve(config: StyleTransferConfig, port: int = 0) -> None:
    """Serve the app on 127.0.0.1:``port`` (0: a free port) until Ctrl-C; ``config`` gives the page's defaults
    and every setting the page does not show. WebUnavailable without the ``web`` extra."""
    missing = [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise WebUnavailable(
            f"--serve needs the web extra (missing: {', '.join(missing)}); install it with pip install 'tf_nst[web]'"
        )
    from tf_nst.web.server import serve_forever

    serve_forever(config, port)
