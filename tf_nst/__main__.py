"""``python -m tf_nst``: the ``tf-nst`` command (see ``tf_nst.cli``)."""

from tf_nst.cli import console_main

if __name__ == "__main__":
    console_main()
