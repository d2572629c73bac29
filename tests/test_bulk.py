"""BulkInsert's converters give the driver exactly what SQLAlchemy's own bind processors give (SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

from detector.ingest.bulk import BulkInsert
from detector.ingest.load import MESSAGE_COLUMNS
from detector.schema import Message

OTHER_ZONE = timezone(timedelta(hours=3, minutes=30))
MOMENTS = [
    datetime(2023, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2024, 3, 1, 1, 2, 3, 4, tzinfo=OTHER_ZONE),  # another zone: stored as its UTC time
    datetime(999, 12, 31, 22, 0, tzinfo=UTC),  # a year below 1000 keeps four digits
    None,
]
JSON_VALUES = [
    [{"type": "plain", "text": "قطة شيرازي — 3 months, \"quoted\" \\ back\nslash"}, {"type": "mention", "text": "@s"}],
    [],
    [1.5, None, True, {"nested": ["ß", "\U0001f600"]}],
    {"a dict": "takes SQLAlchemy's own route"},
    None,
]


@pytest.fixture
def bulk():
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        yield BulkInsert(conn, Message.__table__, MESSAGE_COLUMNS)
    engine.dispose()


def _sqlalchemy(bulk: BulkInsert, column: str):
    dialect = bulk.conn.dialect
    return bulk.table.c[column].type.dialect_impl(dialect).bind_processor(dialect)


@pytest.mark.parametrize("moment", MOMENTS)
def test_utc_datetimes_convert_as_sqlalchemy_binds_them(bulk, moment):
    assert bulk.converter("sent_at")(moment) == _sqlalchemy(bulk, "sent_at")(moment)


def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(bulk):
    naive = datetime(2023, 1, 1)
    for convert in (bulk.converter("sent_at"), _sqlalchemy(bulk, "sent_at")):
        with pytest.raises(ValueError, match="naive datetime"):
            convert(naive)


@pytest.mark.parametrize("value", JSON_VALUES)
def test_json_reads_back_as_the_value_sqlalchemy_binds(bulk, value):
    assert json.loads(bulk.converter("entities")(value)) == json.loads(_sqlalchemy(bulk, "entities")(value)) == value


def test_json_of_a_value_json_cannot_hold_is_refused_as_json_dumps_refuses_it(bulk):
    with pytest.raises(TypeError, match="not JSON serializable"):
        bulk.converter("entities")([{"when": datetime(2024, 1, 1, tzinfo=UTC)}])


def test_json_lists_keep_non_ascii_characters_as_they_are(bulk):
    text = bulk.converter("entities")(JSON_VALUES[0])
    assert "قطة شيرازي" in text and len(text.encode()) < len(_sqlalchemy(bulk, "entities")(JSON_VALUES[0]))
