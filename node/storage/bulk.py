"""Bulk inserts: executemany with the driver's own values on SQLite, ``COPY`` on PostgreSQL.

Bulk intake writes four rows per certificate (certificate, log entry, audit event, Merkle
nodes). Through SQLAlchemy Core every value of every row goes through a type processor
(``UtcDateTime`` converts and reformats each timestamp, ``JSON`` encodes each audit detail),
which cost about as much as SQLite's own insert (``docs/NODE-BENCH.md``). :func:`insert_rows`
converts the values once, exactly as those processors would, and hands the rows to the driver
in the caller's transaction: on SQLite to ``executemany`` of the connection, on PostgreSQL to
psycopg's ``COPY … FROM STDIN`` (one statement for all the rows instead of multi-row
``INSERT`` statements). The stored bytes are the same (``tests/node/storage/test_bulk.py``
compares the raw rows of both paths on both backends).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Date,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from node.core.canonical import json_encoder
from node.core.errors import InvalidInput

Executor = Session | Connection
Converter = Callable[[Any], Any]


def _sqlite_timestamp(value: Any) -> str | None:
    """What ``UtcDateTime`` and SQLite's ``DATETIME`` store: naive UTC, microseconds."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InvalidInput("now", "time.aware", "timestamps must be timezone-aware")
    utc = value.astimezone(dt.UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def _sqlite_date(value: Any) -> str | None:
    """What SQLite's ``DATE`` stores."""
    if value is None:
        return None
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


#: What ``JSON`` stores on both backends (``json.dumps``; ``None`` is the JSON ``null``).
_json = json_encoder()


def _postgres_timestamp(value: Any) -> dt.datetime | None:
    """What ``UtcDateTime`` hands psycopg: aware UTC (``timestamptz`` stores the instant)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InvalidInput("now", "time.aware", "timestamps must be timezone-aware")
    return value.astimezone(dt.UTC)


def _converter(column_type: Any) -> Converter | None:
    if isinstance(column_type, TypeDecorator):
        # UtcDateTime is the only decorator in the schema (node.storage.schema).
        return _sqlite_timestamp
    if isinstance(column_type, JSON):
        return _json
    if isinstance(column_type, Date):
        return _sqlite_date
    return None  # integers, strings, bytes, booleans: sqlite3 takes them as they are


def _postgres_converter(column_type: Any) -> Converter | None:
    if isinstance(column_type, TypeDecorator):
        return _postgres_timestamp
    if isinstance(column_type, JSON):
        # What SQLAlchemy's psycopg dialect sends (psycopg's Json with the default
        # json.dumps; None is the JSON null): a json column keeps the text as it is.
        return _json
    return None  # psycopg writes dates, integers, strings, bytes, booleans as they are


_POSTGRES = postgresql.dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy

#: The binary ``COPY`` type of each PostgreSQL column type of the schema (OIDs are fixed by
#: PostgreSQL for its built-in types): psycopg writes each value with that type's binary
#: dumper. A ``JSON`` column gets its text as ``text`` (25): the value is already encoded
#: (:data:`_json`), and ``json``'s binary input is its text; ``VARCHAR`` likewise.
#: ``tests/node/storage/test_bulk.py`` checks these against the migrated database's own.
POSTGRES_COPY_TYPES: Final[Mapping[str, int]] = {
    "BIGINT": 20,
    "BOOLEAN": 16,
    "BYTEA": 17,
    "DATE": 1082,
    "FLOAT": 701,
    "INTEGER": 23,
    "JSON": 25,
    "SMALLINT": 21,
    "TEXT": 25,
    "TIMESTAMP WITH TIME ZONE": 1184,
    "VARCHAR": 25,
}


def postgres_copy_type(column_type: Any) -> int:
    """The OID :func:`insert_tuples` sends a value of ``column_type`` as in a binary ``COPY``.

    Raises:
        KeyError: a column type the schema does not use (added to the schema without a type
            here).
    """
    return POSTGRES_COPY_TYPES[column_type.compile(dialect=_POSTGRES).split("(")[0]]


@lru_cache(maxsize=64)
def _plan(
    table: Table, columns: tuple[str, ...], dialect: str
) -> tuple[str, tuple[Converter | None, ...], tuple[int, ...]]:
    """The statement, the per-column converters and (PostgreSQL) the binary ``COPY`` types for
    inserting ``columns`` into ``table`` on ``dialect``: ``INSERT … VALUES (?, …)`` for
    sqlite3's ``executemany``, ``COPY … FROM STDIN (FORMAT BINARY)`` for psycopg."""
    for name in columns:
        if name not in table.c:
            raise KeyError(f"{table.name} has no column {name}")
    if dialect == "postgresql":
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        return (
            sql,
            tuple(_postgres_converter(table.c[name].type) for name in columns),
            tuple(postgres_copy_type(table.c[name].type) for name in columns),
        )
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    return sql, tuple(_converter(table.c[name].type) for name in columns), ()


def _remembering(convert: Converter) -> Converter:
    """``convert`` that gives back its last answer when handed the very same object again (a
    bulk insert repeats one ``now`` on every row)."""
    last: list[Any] = [_NOTHING, None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[1] = convert(value)
            last[0] = value
        return last[1]

    return converted


_NOTHING = object()


def insert_rows(db: Executor, table: Table, rows: Sequence[Mapping[str, Any]], batch: int) -> None:
    """Insert ``rows`` (each with the same keys, column names of ``table``) in the caller's
    transaction, ``batch`` rows per statement.

    Raises:
        InvalidInput: a timestamp is naive (nothing is sent then).
        SQLAlchemyError: the database refused a row or failed (the caller turns it into a
            ``StorageError`` and rolls back); a refused row is an ``IntegrityError``.
    """
    if not rows:
        return
    columns = tuple(rows[0])
    insert_tuples(db, table, columns, [tuple(row[name] for name in columns) for row in rows], batch)


def insert_tuples(
    db: Executor,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    batch: int,
) -> None:
    """:func:`insert_rows` for rows given as tuples of the values of ``columns``, in that order
    (bulk intake builds them so, without a dict per row).

    Raises:
        InvalidInput: a timestamp is naive (nothing is sent then).
        SQLAlchemyError: the database refused a row or failed; a refused row is an
            ``IntegrityError``.
    """
    if not rows:
        return
    connection = db.connection() if isinstance(db, Session) else db
    dialect = connection.dialect.name
    if dialect == "postgresql":
        sql, converters, types = _plan(table, columns, dialect)
        _copy(connection, sql, types, _all_converted(rows, converters))
        return
    if dialect != "sqlite":
        for start in range(0, len(rows), batch):
            db.execute(
                insert(table),
                [dict(zip(columns, row, strict=True)) for row in rows[start : start + batch]],
            )
        return
    sql, converters, _ = _plan(table, columns, dialect)
    params = _all_converted(rows, converters)
    for start in range(0, len(params), batch):
        connection.exec_driver_sql(sql, params[start : start + batch])


def _all_converted(
    rows: Sequence[tuple[Any, ...]], converters: tuple[Converter | None, ...]
) -> Sequence[tuple[Any, ...]]:
    """``rows`` with each value converted by its column's converter (all before any is sent)."""
    if all(convert is None for convert in converters):
        return rows
    return _converted(rows, converters)


def _copy(
    connection: Connection, sql: str, types: tuple[int, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Binary ``COPY … FROM STDIN`` of ``rows`` (each value as its column's type in ``types``)
    through psycopg on ``connection``'s own driver connection, so in its transaction (psycopg
    opens it if the connection has sent nothing yet). The binary form sends bytes as they are
    (text ``COPY`` spelt every ``bytea`` value out in escaped hex: its formatting was 29 % of
    the writer's samples at 10^7, docs/NODE-BENCH.md). A refused row fails the whole
    statement: nothing of it stays, and the error comes back as SQLAlchemy's
    (``IntegrityError`` for a constraint), parameters hidden."""
    driver = connection.connection.driver_connection
    assert driver is not None
    dbapi = connection.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)
    except dbapi.Error as exc:
        raise DBAPIError.instance(
            sql, None, exc, dbapi.Error, hide_parameters=True, dialect=connection.dialect
        ) from exc


def _converted(
    rows: Sequence[tuple[Any, ...]], converters: Sequence[Converter | None]
) -> list[tuple[Any, ...]]:
    """``rows`` with each value of a column that has a converter converted, a column at a time:
    the transpositions run in C, not a Python loop per row. A timestamp or date column whose
    values are all equal (a bulk insert repeats one ``now``) is converted once: equal aware
    timestamps are one instant, hence one UTC text, and a date never equals a timestamp.
    JSON values are always encoded one by one (equal objects may encode differently: key
    order, ``1`` and ``True``)."""
    columns = list(zip(*rows, strict=True))
    for i, convert in enumerate(converters):
        if convert is None:
            continue
        values = columns[i]
        if convert is not _json and values.count(values[0]) == len(values):
            columns[i] = (convert(values[0]),) * len(values)
        else:
            columns[i] = tuple(map(_remembering(convert), values))
    return list(zip(*columns, strict=True))


def select_in(
    db: Executor,
    table: Table,
    name: str,
    column: ColumnElement[Any],
    values: Collection[Any],
    batch: int,
    *,
    where: Sequence[ColumnElement[bool]] = (),
    sqlite_where: str = "",
    sqlite_params: tuple[Any, ...] = (),
) -> Iterator[tuple[Any, ...]]:
    """Yield the rows ``(column,)`` of ``table`` whose ``column`` is one of ``values``, with
    ``IN`` lists of at most ``batch`` values, under the extra conditions ``where`` (Core) or,
    on SQLite, ``sqlite_where`` with its parameters ``sqlite_params`` (the same conditions
    written in SQL).

    Bulk intake asks this for thousands of commitments, numbers and serials per chunk: on
    SQLite the statement is written directly with ``?`` placeholders, which costs far less than
    compiling an expanding ``IN`` and running every value through its bind processor. On
    PostgreSQL the values go as one array parameter (``column = ANY(:values)``, ``batch``
    values per statement): one cached statement instead of an ``IN`` list of ``batch``
    placeholders that SQLAlchemy compiles and psycopg rewrites on every call. Other dialects
    keep the Core ``IN``.

    Raises:
        SQLAlchemyError: the database failed.
    """
    wanted = sorted(values)
    if not wanted:
        return
    connection = db.connection() if isinstance(db, Session) else db
    sqlite = connection.dialect.name == "sqlite"
    postgresql = connection.dialect.name == "postgresql"
    for start in range(0, len(wanted), batch):
        chunk = wanted[start : start + batch]
        if postgresql:
            array = bindparam("values", chunk, type_=ARRAY(column.type))
            yield from db.execute(select(column).where(column == any_(array), *where))
        elif sqlite:
            condition = f" AND {sqlite_where}" if sqlite_where else ""
            sql = (
                f"SELECT {name} FROM {table.name} WHERE {name} IN "
                f"({', '.join('?' for _ in chunk)}){condition}"
            )
            yield from connection.exec_driver_sql(sql, (*chunk, *sqlite_params))
        else:
            yield from db.execute(select(column).where(column.in_(chunk), *where))
