"""The ``tf-nst`` command: flags (``flags``), the run they describe (``runner``), progress and records.

``main`` is the only module that reads flags; it builds a ``StyleTransferConfig`` and ``RunOptions`` and hands
them to ``runner.run``.
"""
