"""Read-only tools over the knowledge base: search it, list it, read a part of one document.

Each narrows every request to what the asking user may see (ragchat/access.py) before the store
is asked, so a hidden document is never found, listed or read, whatever the model asks for.
Passages found here join the answer's numbered sources; results show the numbers to cite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ragchat.access import is_visible, scoped
from ragchat.domain import Chunk, DocumentRecord, Filters, ScoredChunk, ToolContext, ToolOutput
from ragchat.ports import ChunkStore, Retriever
from ragchat.tools.registry import ToolFailed

READ_CHARS = 6_000  # one read_document result: about 1,500 tokens
MAX_LISTED = 100
_DOC_TYPE = {"type": "string", "pattern": "^[a-z]{2,10}$",
             "description": "Only documents of this type: markdown, pdf, html, docx, text, csv or json."}
_PATH_PREFIX = {"type": "string", "maxLength": 300,
                "description": "Only documents whose path starts with this, e.g. 'runbooks/'."}


def _heading(chunk: Chunk) -> str:
    return " > ".join(chunk.heading_path)


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def passage_block(number: int, chunk: Chunk) -> str:
    where = _heading(chunk)
    page = f", page {chunk.page}" if chunk.page else ""
    return (f"[{number}] {chunk.title}{' — ' + where if where else ''} "
            f"(path {chunk.path}{page}; doc_id {chunk.doc_id})\n{chunk.text}")


def _documents_phrase(chunks: Sequence[Chunk]) -> str:
    docs = len({c.doc_id for c in chunks})
    return f"{counted(len(chunks), 'passage')} from {counted(docs, 'document')}"


class SearchDocuments:
    name = "search_documents"
    description = (
        "Search the user's documents (keyword and semantic search combined). Returns numbered passages; "
        "cite them by number, like [2]. Search again with other words if the results miss the point. "
        "Each passage names its doc_id, which read_document accepts.")
    input_schema = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 1000,
                      "description": "What to look for, in words likely to appear in the documents."},
            "k": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How many passages (default 5)."},
            "path_prefix": _PATH_PREFIX,
            "doc_type": _DOC_TYPE,
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    def __init__(self, retriever: Retriever, relevant: Callable[[list[ScoredChunk]], list[ScoredChunk]]):
        self.retriever = retriever
        self.relevant = relevant  # the chat's relevance gate: nothing rather than unrelated passages

    def announce(self, args: dict) -> str:
        return f"Searching: {args['query']}"

    def run(self, args: dict, context: ToolContext) -> ToolOutput:
        filters = scoped(Filters(path_prefix=args.get("path_prefix") or None,
                                 doc_types=(args["doc_type"],) if args.get("doc_type") else ()), context.user_id)
        hits = self.relevant(self.retriever.search(args["query"], k=args.get("k", 5), filters=filters))
        if not hits:
            return ToolOutput("No passages matched. Try other words, a broader query, or fewer filters.",
                              "nothing found")
        blocks = [passage_block(context.sources.add(h.chunk, h.score).number, h.chunk) for h in hits]
        return ToolOutput("\n\n".join(blocks), _documents_phrase([h.chunk for h in hits]))


class ListDocuments:
    name = "list_documents"
    description = ("List the documents the user can search: doc_id, title, path, type and size in passages. "
                   "Use it to see what exists or to find a document to read.")
    input_schema = {
        "type": "object",
        "properties": {
            "path_prefix": _PATH_PREFIX,
            "doc_type": _DOC_TYPE,
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LISTED,
                      "description": f"At most this many (default 50, at most {MAX_LISTED})."},
        },
        "additionalProperties": False,
    }

    def __init__(self, store: ChunkStore):
        self.store = store

    def announce(self, args: dict) -> str:
        where = args.get("path_prefix") or args.get("doc_type")
        return f"Listing documents{': ' + where if where else ''}"

    def run(self, args: dict, context: ToolContext) -> ToolOutput:
        prefix, doc_type = args.get("path_prefix") or "", args.get("doc_type")
        found = [d for d in self.store.list_documents()
                 if d.status == "indexed" and is_visible(d.path, context.user_id)
                 and d.path.startswith(prefix) and (doc_type is None or d.doc_type == doc_type)]
        if not found:
            return ToolOutput("No documents match.", "no documents")
        limit = args.get("limit", 50)
        lines = [f"- {d.doc_id}: {d.title} (path {d.path}, {d.doc_type}, {d.chunk_count} passages)"
                 for d in found[:limit]]
        if len(found) > limit:
            lines.append(f"… and {len(found) - limit} more; narrow with path_prefix or doc_type.")
        return ToolOutput("\n".join(lines), counted(len(found), "document"))


class ReadDocument:
    name = "read_document"
    description = (
        "Read part of one document: a section by its heading, or a page of a PDF; without either, the "
        "beginning and the document's outline. Returns numbered passages to cite. Get doc_id from "
        "search_documents or list_documents.")
    input_schema = {
        "type": "object",
        "properties": {
            "doc_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "section": {"type": "string", "minLength": 1, "maxLength": 200,
                        "description": "A heading of the document (a part of it is enough)."},
            "page": {"type": "integer", "minimum": 1, "maximum": 100000},
        },
        "required": ["doc_id"],
        "additionalProperties": False,
    }

    def __init__(self, store: ChunkStore):
        self.store = store

    def announce(self, args: dict) -> str:
        part = args.get("section") or (f"page {args['page']}" if args.get("page") else "")
        return f"Reading: {args['doc_id']}{' — ' + part if part else ''}"

    def _document(self, doc_id: str, user_id: str) -> DocumentRecord:
        record = self.store.get_document(doc_id)
        # the same answer for "hidden" and "absent": existence is not revealed either
        if record is None or record.status != "indexed" or not is_visible(record.path, user_id):
            raise ToolFailed(f"no document with doc_id {doc_id!r}; find ids with search_documents or list_documents")
        return record

    def run(self, args: dict, context: ToolContext) -> ToolOutput:
        record = self._document(args["doc_id"], context.user_id)
        chunks = sorted(self.store.get_chunks(record.doc_id), key=lambda c: c.position)
        if args.get("page"):
            part = [c for c in chunks if c.page == args["page"]]
            if not part:
                pages = sorted({c.page for c in chunks if c.page})
                have = f"pages {pages[0]}-{pages[-1]}" if pages else "no pages (it is not paginated)"
                raise ToolFailed(f"page {args['page']} not found; {record.title} has {have}")
            label = f"page {args['page']}"
        elif args.get("section"):
            part = self._section(chunks, args["section"], record)
            label = _heading(part[0]) or args["section"]
        else:
            part, label = chunks, "beginning"
        shown, used = [], 0
        for chunk in part:
            if shown and used + len(chunk.text) > READ_CHARS:
                break
            shown.append(chunk)
            used += len(chunk.text)
        blocks = [passage_block(context.sources.add(c).number, c) for c in shown]
        if len(shown) < len(part):
            blocks.append(f"[… {len(part) - len(shown)} more passages in this part; read a narrower section.]")
        if not args.get("section") and not args.get("page"):
            blocks.insert(0, "Outline: " + "; ".join(self._outline(chunks)))
        return ToolOutput(f"{record.title} ({record.path}), {label}:\n\n" + "\n\n".join(blocks),
                          f"{record.title}: {label}, {counted(len(shown), 'passage')}")

    @staticmethod
    def _outline(chunks: Sequence[Chunk], limit: int = 40) -> list[str]:
        headings = list(dict.fromkeys(_heading(c) for c in chunks if c.heading_path))
        if not headings:
            return ["(no headings)"]
        return headings[:limit] + ([f"… {len(headings) - limit} more"] if len(headings) > limit else [])

    def _section(self, chunks: Sequence[Chunk], wanted: str, record: DocumentRecord) -> list[Chunk]:
        """The chunks under the first heading that equals `wanted`, else the first that contains it,
        subsections included."""
        key = " ".join(wanted.casefold().split())
        for exact in (True, False):
            for chunk in chunks:
                for depth, heading in enumerate(chunk.heading_path, start=1):
                    name = " ".join(heading.casefold().split())
                    if name == key if exact else key in name:
                        prefix = chunk.heading_path[:depth]
                        return [c for c in chunks if c.heading_path[:depth] == prefix]
        raise ToolFailed(f"no section {wanted!r} in {record.title}; its sections: "
                         + "; ".join(self._outline(chunks, limit=25)))
