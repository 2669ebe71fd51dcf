"""Statements of the API's hottest requests, compiled once and run on the DB-API cursor.

SQLAlchemy spends several times as long around each statement as the database spends running it
(measured on the track's action INSERT: ~100 µs through ``Connection.execute``, ~18 µs on the
cursor). A ``PreparedStatement`` is still built with Core, so it stays one statement for SQLite and
PostgreSQL, with the columns' own types converting values both ways; what it skips is the work
SQLAlchemy redoes per execution (cache key, execution context, result metadata).

It runs on the DB-API connection under the session's ``Connection``: same engine, pool and
transaction, so the session's commit or rollback covers it like any other statement, and the
engine's cursor events still see it (SQLAlchemy's own ``echo`` log does not). Only for
statements whose parameters are all given: a column's Python-side default would be skipped, so
compiling one raises. An INSERT writes the columns its first execution names; every later one must
give the same (a missing one is a KeyError, not a silent NULL).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the parameter order for a positional paramstyle, else named
    binds: dict[str, Processor]
    constants: dict[str, Any]  # values written into the statement itself (``== 'ALLOW'``)


class PreparedStatement:
    def __init__(self, statement: Executable):
        self.statement = statement
        self._returns_rows = bool(statement.exported_columns)  # type: ignore[attr-defined]
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._results: dict[tuple[str, str], tuple[type, tuple[Processor, ...]]] = {}

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """Every row, as named tuples of converted values (``[]`` for a statement without rows)."""
        return self.bind(connection, params).rows()

    def one_or_none(self, connection: Connection, params: Mapping[str, Any]) -> tuple | None:
        return self.bind(connection, params).one_or_none()

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the one row (an INSERT's RETURNING id)."""
        return self.bind(connection, params).scalar()

    def changed(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """How many rows an UPDATE or DELETE changed."""
        return self.bind(connection, params).changed()

    def bind(self, connection: Connection, params: Mapping[str, Any]) -> BoundStatement:
        """The statement with its values converted, to run later: a writer converts every value
        before its first write, which on SQLite takes the database's one write lock until commit."""
        compiled = self._compile(connection.dialect, params)
        return BoundStatement(self, connection, compiled, self._parameters(compiled, params))

    def _execute(self, connection: Connection, compiled: _Compiled,
                 parameters: Sequence[Any] | dict[str, Any]) -> tuple[list[tuple], int]:
        """(the rows, the number of rows the statement changed)."""
        cursor = connection.connection.cursor()
        events = connection.dispatch  # the engine's listeners too: statement counts, tracing
        try:
            if events.before_cursor_execute:
                events.before_cursor_execute(connection, cursor, compiled.sql, parameters, None, False)
            cursor.execute(compiled.sql, parameters)
            if events.after_cursor_execute:
                events.after_cursor_execute(connection, cursor, compiled.sql, parameters, None, False)
            description = cursor.description
            # Only the rows the statement asks for (PostgreSQL may add an implicit RETURNING of the key).
            raw_rows = cursor.fetchall() if description is not None and self._returns_rows else None
            changed = cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handling, private but the one the rest of the app relies on: the
            # driver's error becomes IntegrityError (a track's retry), OperationalError (a 503), and
            # a lost connection is taken out of the pool.
            connection._handle_dbapi_exception(error, compiled.sql, parameters, cursor, None)
        finally:
            cursor.close()
        if raw_rows is None:
            return [], changed
        row_type, processors = self._row_type(connection.dialect, description)
        return [row_type._make([value if convert is None else convert(value)
                                for value, convert in zip(raw, processors, strict=True)])
                for raw in raw_rows], changed

    def _parameters(self, compiled: _Compiled, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        def value(name: str) -> Any:
            raw = params[name] if name in params else compiled.constants[name]
            convert = compiled.binds[name]
            return raw if convert is None else convert(raw)

        if compiled.positional is not None:
            return [value(name) for name in compiled.positional]
        return {name: value(name) for name in compiled.binds}

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, dialect.driver)
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(params))
            if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
                raise ValueError("a prepared statement must be given every column that has a Python default")
            binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                     for name, bind in compiled.binds.items()}
            constants = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
            found = self._compiled[key] = _Compiled(
                compiled.string, tuple(compiled.positiontup) if compiled.positional else None, binds, constants)
        return found

    def _row_type(self, dialect: Dialect, description: Sequence[Sequence[Any]]) -> tuple[type, tuple[Processor, ...]]:
        key = (dialect.name, dialect.driver)
        found = self._results.get(key)
        if found is None:
            columns = list(self.statement.exported_columns)  # type: ignore[attr-defined]
            processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                               for column, described in zip(columns, description, strict=True))
            found = self._results[key] = (namedtuple("Row", [str(column.key) for column in columns], rename=True), processors)
        return found


@dataclass(frozen=True)
class BoundStatement:
    """A prepared statement with its converted values, on one connection (``PreparedStatement.bind``)."""

    statement: PreparedStatement
    connection: Connection
    compiled: _Compiled
    parameters: Sequence[Any] | dict[str, Any]

    def rows(self) -> list[tuple]:
        return self.statement._execute(self.connection, self.compiled, self.parameters)[0]

    def changed(self) -> int:
        """How many rows an UPDATE or DELETE changed: a conditional UPDATE's verdict."""
        return self.statement._execute(self.connection, self.compiled, self.parameters)[1]

    def one_or_none(self) -> tuple | None:
        found = self.rows()
        if len(found) > 1:
            raise LookupError(f"expected at most one row, got {len(found)}")
        return found[0] if found else None

    def scalar(self) -> Any:
        (row,) = self.rows()
        return row[0]
