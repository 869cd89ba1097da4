"""The ``tf-nst`` command. ``main`` parses the flags (made by ``flags`` from ``StyleTransferConfig`` and
``options.RunOptions``), builds both objects and dispatches to the image command (``images``), the clip command
(``video``) or the export (``export``); what they share is in ``command``, what a person sees in ``progress``,
the records a run keeps in ``records``. ``main`` is the only module that reads flags.
"""
