"""``python cli.py`` in a checkout: the ``tf-nst`` command (``tf_nst/cli.py``) without installing the package."""

from tf_nst.cli import console_main

if __name__ == "__main__":
    console_main()
