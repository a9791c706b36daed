"""Data-migration tests: migrate the test database to a named state, and back to the latest state afterwards."""

from __future__ import annotations

import contextlib

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrate to ``targets`` and return the historical models of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextlib.contextmanager
def migrations_restored():
    """Whatever the test migrated to, the database is at the latest migrations again afterwards."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        yield
    finally:
        migrate(leaves)
