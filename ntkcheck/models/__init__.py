"""Model families behind one protocol (``models.protocol.Model``), and the activation table.

Each family is one folder (``two_layer/``) plus one line in ``registry.py``;
nothing outside this package reaches into a family's weights or factors.
Import from the submodules (``ntkcheck.models.protocol``, ``.registry``,
``.activations``): this package's ``__init__`` stays empty so that loading the
activation table does not load every family.
"""
