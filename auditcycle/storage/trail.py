"""The audit trail: record who changed which row, when and how, in the same transaction as the change.

Every ORM flush writes one trail row per inserted, updated or deleted object, and every bulk
`insert()`/`update()`/`delete()` run through a session writes one per row (or one per statement when
the rows are chosen by a WHERE clause). A transaction's trail rows are held until it commits, then
written in one executemany just before the commit, so a transaction that flushes seven times still
costs one statement.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from enum import Enum as PyEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlalchemy.types import TypeDecorator

from auditcycle.core.clock import wall_clock
from auditcycle.models.enums import TrailAction
from auditcycle.models.trail import TRAIL_TABLE, TrailEntry
from auditcycle.storage.transactions import transaction_info

# A child's and their family's personal fields: the trail names them when they change, never their values.
PERSONAL = frozenset({
    ("child", "first_name"), ("child", "last_name"), ("child", "date_of_birth"),
    ("family_contact", "relationship"), ("family_contact", "name"), ("family_contact", "phone"),
    ("family_contact", "language"),
})
# Run bookkeeping rather than domain state: leases are locks, phase runs are their own record.
UNTRACKED = frozenset({TRAIL_TABLE, "phase_lease", "phase_run"})
# Delivery status changes (claimed, sent, retrying) are the gateway's bookkeeping; queuing a message is tracked.
UNTRACKED_UPDATES = frozenset({"outbox_message"})
# Short strings are codes, references and grades; longer ones may be free text that names someone.
MAX_RECORDED_STRING = 60

_actor: ContextVar[str] = ContextVar("auditcycle_trail_actor", default="system")
# Where a command-line action came from: the operating-system account and host, beside the claimed staff id.
_origin: ContextVar[tuple[str | None, str | None]] = ContextVar("auditcycle_trail_origin", default=(None, None))


def current_actor() -> str:
    """Return who the trail credits with changes made now."""
    return _actor.get()


@contextmanager
def acting_as(actor: str, *, origin: tuple[str | None, str | None] | None = None) -> Iterator[None]:
    """Credit every change made inside the block to `actor` (a staff id, or "scheduler:<phase>").

    `origin`, the (account, host) a command-line action came from, is kept for the block; when not
    given, the surrounding one stays, so a phase run from the command line still names its operator.
    """
    token = _actor.set(actor)
    origin_token = _origin.set(origin) if origin is not None else None
    try:
        yield
    finally:
        _actor.reset(token)
        if origin_token is not None:
            _origin.reset(origin_token)


def recordable(table: str, column: Column) -> bool:
    """Say whether a column's values may be copied into the trail, or only its name."""
    if (table, column.name) in PERSONAL:
        return False
    if column.primary_key or column.foreign_keys:
        return True
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, (Enum, Boolean, Integer, Float, Numeric, Date, DateTime, Time)):
        return True
    return isinstance(kind, String) and not isinstance(kind, Text) and bool(kind.length) \
        and kind.length <= MAX_RECORDED_STRING


def _plain(value: Any) -> Any:
    if isinstance(value, PyEnum):
        return value.value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Decimal and any type added later: text, so a new column can never make a flush fail.
    return str(value)


@cache
def _columns(mapper: Mapper) -> tuple[tuple[str, str, bool], ...]:
    """Return (attribute key, column name, recordable) for each column of a mapped class."""
    table = mapper.local_table.name
    return tuple((prop.key, prop.columns[0].name, recordable(table, prop.columns[0]))
                 for prop in mapper.column_attrs)


@cache
def _primary_keys(mapper: Mapper) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(col).key for col in mapper.primary_key)


def _changes(values: dict[str, Any], withheld: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values:
        out["values"] = values
    if withheld:
        out["withheld"] = withheld
    return out


def _entry(at: datetime, actor: str, action: TrailAction, entity: str, entity_id: str | None,
           changes: dict[str, Any]) -> dict[str, Any]:
    os_account, host = _origin.get()
    return {"at": at, "actor": actor, "os_account": os_account, "host": host, "action": action, "entity": entity,
            "entity_id": entity_id, "changes": changes}


def _object_entry(obj: Any, action: TrailAction, at: datetime, actor: str) -> dict[str, Any] | None:
    state = inspect(obj)
    mapper = state.mapper
    table = mapper.local_table.name
    if table in UNTRACKED or (action is TrailAction.UPDATE and table in UNTRACKED_UPDATES):
        return None
    # Read the instance dict, never the attributes: an expired attribute would cost a SELECT per row.
    entity_id = ",".join(str(state.dict.get(key)) for key in _primary_keys(mapper))
    values: dict[str, Any] = {}
    withheld: list[str] = []
    for key, name, open_value in _columns(mapper):
        if action is TrailAction.UPDATE:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            if open_value:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                values[name] = [_plain(old), _plain(new)]
            else:
                withheld.append(name)
        elif action is TrailAction.INSERT:
            if key not in state.dict:
                continue
            if open_value:
                values[name] = _plain(state.dict[key])
            else:
                withheld.append(name)
    if action is TrailAction.UPDATE and not values and not withheld:
        return None
    return _entry(at, actor, action, table, entity_id, _changes(values, withheld))


_PENDING = "trail.pending"
_COMMITTING = "trail.committing"


def _insert(session: Session, entries: list[dict[str, Any]]) -> None:
    if entries:
        session.connection().execute(insert(TrailEntry.__table__), entries)


# Held rows are written once this many wait, so a transaction that writes 500,000 rows (a large import)
# never holds their trail in memory; fewer go in one statement at commit.
HELD_MAX = 5000


def _write(session: Session, entries: list[dict[str, Any]]) -> None:
    held = transaction_info(session)
    if held.get(_COMMITTING):
        _insert(session, entries)  # a flush made by another hook once ours had written
    elif entries:
        pending = held.setdefault(_PENDING, [])
        pending.extend(entries)
        if len(pending) >= HELD_MAX:
            _insert(session, pending)
            held[_PENDING] = []


def _before_commit(session: Session) -> None:
    """Write the transaction's held trail rows in one statement, after its last flush."""
    session.flush()
    held = transaction_info(session)
    held[_COMMITTING] = True
    _insert(session, held.pop(_PENDING, []))


def _after_flush(session: Session, _flush_context) -> None:
    """Record every object the flush inserted, updated or deleted."""
    at, actor = wall_clock(), current_actor()
    entries = []
    for objects, action in ((session.new, TrailAction.INSERT), (session.dirty, TrailAction.UPDATE),
                            (session.deleted, TrailAction.DELETE)):
        for obj in objects:
            entry = _object_entry(obj, action, at, actor)
            if entry is not None:
                entries.append(entry)
    _write(session, entries)


def _statement_fields(statement) -> list[str]:
    values = getattr(statement, "_values", None) or {}
    return [getattr(key, "name", None) or getattr(key, "key", None) or str(key) for key in values]


def _on_execute(state: ORMExecuteState) -> None:
    """Record bulk insert, update and delete statements, which bypass the flush."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in UNTRACKED or (not state.is_insert and name in UNTRACKED_UPDATES):
        return
    action = TrailAction.INSERT if state.is_insert else TrailAction.UPDATE if state.is_update else TrailAction.DELETE
    mapper = state.bind_mapper
    at, actor = wall_clock(), current_actor()

    def column(key: str) -> Column | None:
        if mapper is not None and key in mapper.attrs and hasattr(mapper.attrs[key], "columns"):
            return mapper.attrs[key].columns[0]
        return table.c.get(key)

    rows = state.parameters or []
    if isinstance(rows, dict):
        rows = [rows]
    pk_names = [c.name for c in table.primary_key]
    entries = []
    if rows and not getattr(statement, "_where_criteria", ()):
        for row in rows:
            by_name = {}
            for key, value in row.items():
                col = column(key)
                if col is not None:
                    by_name[col.name] = (col, value)
            if not all(pk in by_name for pk in pk_names):
                entries = []
                break
            entity_id = ",".join(str(by_name[pk][1]) for pk in pk_names)
            values = {n: _plain(v) for n, (c, v) in by_name.items() if recordable(name, c)}
            withheld = [n for n, (c, _) in by_name.items() if not recordable(name, c)]
            entries.append(_entry(at, actor, action, name, entity_id, _changes(values, withheld)))
    if not entries:
        # Rows chosen by a WHERE clause, or new rows whose ids the database assigns: one entry for the statement.
        fields = sorted({k for row in rows for k in row} | set(_statement_fields(statement)))
        summary: dict[str, Any] = {"fields": fields}
        if rows:
            summary["rows"] = len(rows)
        where = getattr(statement, "whereclause", None)
        if where is not None:
            # Compiled with placeholders only, so no value from the criteria reaches the trail.
            summary["where"] = str(where)
        entries.append(_entry(at, actor, action, name, None, summary))
    _write(state.session, entries)


event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "do_orm_execute", _on_execute)
event.listen(Session, "before_commit", _before_commit)
