"""Lambda SnapStart runtime hooks, registered by each app function's entry point.

With SnapStart, Lambda runs a function's initialization once, when a version is published,
snapshots the microVM, and resumes every new execution environment from that snapshot, so
whatever init left in memory is shared by all of them. Two hooks keep that safe and useful:

* before the snapshot, the modules the first request would otherwise import lazily (psycopg,
  boto3: ~220 ms together, docs/performance.md) are imported, so restored environments start
  with them loaded: init time costs nothing at request time under SnapStart;
* after each restore, ``random`` is reseeded from this environment's own entropy (every
  environment restored from one snapshot would otherwise draw the same sequence; the X-Ray
  SDK draws segment ids from it), and the entry point's ``reset`` forgets every per-container
  object that holds a connection or credentials (the database connection and the secret
  cache, boto3 clients), so the first request opens its own, with the credentials Lambda gives
  the restored environment.

Nothing unique is created before the snapshot: connections, clients and settings are lazy
(``handlers.common``), which a test checks for every entry point. ``snapshot_restore_py`` is
provided by Lambda's Python runtime (3.12+) only; elsewhere nothing is registered, and in a
function without SnapStart the registered hooks never run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence


def after_restore(reset: Callable[[], None]) -> None:
    """What every restored environment runs before its first request."""
    import random

    # No argument: seeded from os.urandom, which the restored microVM draws afresh.
    random.seed()
    reset()


def preload(modules: Sequence[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def install(*, reset: Callable[[], None], preload_modules: Sequence[str] = ()) -> bool:
    """Register the hooks with the Lambda runtime; False where the runtime lacks them."""
    try:
        import snapshot_restore_py
    except ImportError:
        return False
    snapshot_restore_py.register_before_snapshot(lambda: preload(preload_modules))
    snapshot_restore_py.register_after_restore(lambda: after_restore(reset))
    return True
