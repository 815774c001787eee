"""CSV and JSON: records become "field: value" lines, grouped so each section names its rows."""

from __future__ import annotations

import csv
import io
import json

from ragchat.domain import ParsedDocument, Section, SourceObject
from ragchat.errors import CorruptDocument

from .common import decode_text, fallback_title
from .limits import UNLIMITED, ParseBudget

RECORDS_PER_SECTION = 25


def _group(lines: list[str], label: str) -> tuple[Section, ...]:
    sections = []
    for start in range(0, len(lines), RECORDS_PER_SECTION):
        batch = lines[start:start + RECORDS_PER_SECTION]
        end = start + len(batch)
        sections.append(Section(text="\n\n".join(batch), heading_path=(f"{label} {start + 1}-{end}",)))
    return tuple(sections)


def parse_csv(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    text = decode_text(data)
    sample = text[:16384]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if obj.extension == "tsv" else csv.excel
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            budget.check()
            if any(cell.strip() for cell in row):
                rows.append(row)
    except csv.Error as exc:
        raise CorruptDocument(f"unreadable CSV ({exc})") from exc
    if not rows:
        return ParsedDocument(title=fallback_title(obj), sections=(), doc_type="csv")
    header, records = rows[0], rows[1:]
    if not records:  # a single row: treat it as data, not a header
        header, records = [f"column {i + 1}" for i in range(len(rows[0]))], rows
    lines = [
        "; ".join(f"{name.strip() or f'column {i + 1}'}: {value.strip()}"
                  for i, (name, value) in enumerate(zip(header, record)) if value.strip())
        for record in records
    ]
    return ParsedDocument(title=fallback_title(obj), sections=_group([x for x in lines if x], "Rows"), doc_type="csv")


def _flatten(value, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            out.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            joined = ", ".join(str(item) for item in value if item is not None)
            return [f"{prefix}: {joined}" if prefix else joined] if joined else []
        out = []
        for index, item in enumerate(value):
            out.extend(_flatten(item, f"{prefix}[{index}]"))
        return out
    if value is None or value == "":
        return []
    return [f"{prefix}: {value}" if prefix else str(value)]


def _records_document(values: list, obj: SourceObject, doc_type: str, budget: ParseBudget) -> ParsedDocument:
    lines = []
    for value in values:
        budget.check()
        lines.append("\n".join(_flatten(value)))
    return ParsedDocument(title=fallback_title(obj), sections=_group([x for x in lines if x], "Records"),
                          doc_type=doc_type)


def parse_json(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    try:
        value = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise CorruptDocument(f"invalid JSON ({exc})") from exc
    if isinstance(value, list):
        return _records_document(value, obj, "json", budget)
    if isinstance(value, dict):
        title = value.get("title") if isinstance(value.get("title"), str) else None
        sections = []
        for key, item in value.items():
            budget.check()
            if lines := _flatten(item, str(key)):
                sections.append(Section(text="\n".join(lines), heading_path=(str(key),)))
        return ParsedDocument(title=obj.title or title or fallback_title(obj), sections=tuple(sections),
                              doc_type="json")
    return ParsedDocument(title=fallback_title(obj), sections=(Section(text=str(value)),), doc_type="json")


def parse_jsonl(data: bytes, obj: SourceObject, budget: ParseBudget = UNLIMITED) -> ParsedDocument:
    values = []
    for number, line in enumerate(decode_text(data).splitlines(), start=1):
        budget.check()
        if line.strip():
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorruptDocument(f"invalid JSON on line {number} ({exc.msg})") from exc
    return _records_document(values, obj, "json", budget)
