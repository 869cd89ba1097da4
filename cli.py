"""``python cli.py`` in a checkout: the ``tf-nst`` command (``tf_nst/cli/main.py``) without installing the package."""

from tf_nst.cli.main import console_main

if __name__ == "__main__":
    console_main()
