"""Declarative base, constraint naming, the UTC timestamp type and the month type."""
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum, MetaData, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from auditcycle.core.clock import Month

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} refused: every stored time carries a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite drops the offset; every value was written in UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MonthColumn(TypeDecorator[Month]):
    """An audit month stored as its "YYYY-MM" text and read back as a Month."""

    impl = String(7)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        # A plain string is checked on the way in, so no malformed month is ever stored.
        return None if value is None else str(Month.parse(value))

    def process_result_value(self, value: str | None, dialect) -> Month | None:
        return None if value is None else Month.parse(value)


def enum_column(enum_cls: type[StrEnum], name: str) -> Enum:
    """Return a portable string-backed enum type with a named CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """Base class of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), str: String(), Month: MonthColumn()}
