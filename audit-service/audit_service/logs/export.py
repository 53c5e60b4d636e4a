"""Streamed CSV and JSON exports of the (already masked) audit log."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence

from audit_service.logs.filters import LogFilters
from audit_service.logs.repository import iter_entries
from audit_service.logs.schemas import AuditEntryOut
from shared.db import Database

CSV_COLUMNS = list(AuditEntryOut.model_fields)


def _csv_row(values: Sequence[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _safe_cell(value: object) -> object:
    # Spreadsheet formula injection: a cell starting with = + - @ is prefixed with a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def export_csv(db: Database, filters: LogFilters, *, max_rows: int) -> AsyncIterator[str]:
    yield _csv_row(CSV_COLUMNS)
    async for entry in iter_entries(db, filters, max_rows=max_rows):
        data = AuditEntryOut.model_validate(entry).model_dump(mode="json")
        data["details"] = json.dumps(data["details"], ensure_ascii=False, sort_keys=True)
        yield _csv_row([_safe_cell(data[c]) for c in CSV_COLUMNS])


async def export_json(db: Database, filters: LogFilters, *, max_rows: int) -> AsyncIterator[str]:
    yield "["
    first = True
    async for entry in iter_entries(db, filters, max_rows=max_rows):
        body = AuditEntryOut.model_validate(entry).model_dump_json()
        yield ("\n" if first else ",\n") + body
        first = False
    yield "\n]\n"
