"""Archives (DOCX is a zip of XML parts) checked before any parser opens them: what they unpack
to, and how many XML elements they hold, read from the stream without building a tree.

Sizes are the ones the zip declares: zipfile never yields more than a member's declared size (a
member that holds more fails its CRC check), so python-docx reads no more than this module checks.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from ragchat.errors import CorruptDocument, DocumentTooComplex

from .limits import ParseBudget

_ELEMENT_START = re.compile(rb"<[A-Za-z_]")  # a start tag: not </, <?, <!
_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 2_000
    max_unpacked_bytes: int = 256 * 1024 * 1024  # all members together
    max_xml_bytes: int = 64 * 1024 * 1024  # the XML parts a parser builds trees from
    max_xml_elements: int = 400_000  # a 400-page report holds about 100,000


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _count_elements(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ParseBudget) -> int:
    count, tail = 0, b""
    with archive.open(info) as stream:
        while block := stream.read(_READ_BYTES):
            count += len(_ELEMENT_START.findall(tail + block))
            tail = block[-1:] if block.endswith(b"<") else b""
            budget.check()
    return count


def check_archive(data: bytes, kind: str, budget: ParseBudget, limits: ArchiveLimits = ArchiveLimits()) -> None:
    """Raise DocumentTooComplex if the archive unpacks too large or holds too many XML elements,
    CorruptDocument if it is no zip at all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptDocument(f"unreadable {kind} ({type(exc).__name__}: {exc})") from exc
    if len(members) > limits.max_members:
        raise DocumentTooComplex(f"the {kind} holds {len(members):,} parts, over the {limits.max_members:,} limit")
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.max_unpacked_bytes:
        raise DocumentTooComplex(f"the {kind} unpacks to {_mib(unpacked)}, over the "
                                 f"{_mib(limits.max_unpacked_bytes)} limit")
    xml_parts = [info for info in members if info.filename.lower().endswith((".xml", ".rels"))]
    xml_bytes = sum(info.file_size for info in xml_parts)
    if xml_bytes > limits.max_xml_bytes:
        raise DocumentTooComplex(f"the {kind}'s XML unpacks to {_mib(xml_bytes)}, over the "
                                 f"{_mib(limits.max_xml_bytes)} limit")
    elements = 0
    try:
        for info in xml_parts:
            elements += _count_elements(archive, info, budget)
            if elements > limits.max_xml_elements:
                raise DocumentTooComplex(f"the {kind} holds over {limits.max_xml_elements:,} XML elements")
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        # a bad CRC or stream, an unknown method, an encrypted member
        raise CorruptDocument(f"unreadable {kind} ({type(exc).__name__}: {exc})") from exc
