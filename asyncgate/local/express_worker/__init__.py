"""A second process that runs the server's Lambda-only Express executions (see ``child.py`` for why).

``ExpressWorker`` (``client.py``) is the server's side; ``asyncgate up`` attaches one unless started
with ``--no-express-worker`` or a ``--time-scale``.
"""

from .client import ExpressWorker

__all__ = ["ExpressWorker"]
