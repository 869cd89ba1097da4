"""``python -m tf_nst``: the ``tf-nst`` command (see ``tf_nst.cli.main``)."""

from tf_nst.cli.main import console_main

if __name__ == "__main__":
    console_main()
