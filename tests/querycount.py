"""Count the SQL statements a block of code sends, to keep list pages free of N+1 queries."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN")


@contextmanager
def count_queries(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        # The suite's per-test savepoints are transaction control, as BEGIN/COMMIT are.
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
