"""Documents as files in the drop folder: uploads are written into the drop folder and ingested at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragchat.domain import DocumentRecord, IngestReport, PresignedUpload, UploadOutcome
from ragchat.errors import UploadNotAccepted, UploadTooLarge
from ragchat.ports import ChunkStore
from ragchat.uploads import upload_key


class DropFolderFiles:
    """DocumentFiles over the watched drop folder. Deleting a document deletes its file too, or
    the watcher would bring it back."""

    upload_method = "direct"

    def __init__(self, store: ChunkStore, drop_folder: Path | None, ingest_file: Callable[[Path], IngestReport] | None,
                 max_bytes: int):
        self.store, self.drop_folder, self.ingest_file, self.max_bytes = store, drop_folder, ingest_file, max_bytes

    def upload(self, filename: str, data: bytes, user_id: str) -> UploadOutcome:
        """Into the uploader's own folder of the drop folder: the upload is theirs (ragchat/access.py)."""
        if self.drop_folder is None or self.ingest_file is None:
            raise UploadNotAccepted("uploads need a drop folder (ragchat serve --watch DIR)")
        relative = upload_key(filename, user_id)
        if len(data) > self.max_bytes:
            raise UploadTooLarge(f"file over {self.max_bytes // (1024 * 1024)} MB")
        target = self.drop_folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")  # hidden: the watcher ignores it until it is whole
        partial.write_bytes(data)
        partial.replace(target)
        report = self.ingest_file(target)
        problems = report.rejected + report.failed
        return UploadOutcome(path=relative, status="skipped" if report.rejected else "failed" if report.failed
                             else "indexed", reason=problems[0][1] if problems else "", chunks=report.chunks_written)

    def presign(self, filename: str, user_id: str) -> PresignedUpload:
        raise UploadNotAccepted("the local server takes uploads directly: POST /api/documents")

    def delete(self, record: DocumentRecord) -> int:
        if self.drop_folder and record.uri.startswith(self.drop_folder.resolve().as_uri() + "/"):
            (self.drop_folder / record.path).unlink(missing_ok=True)
        return self.store.delete_document(record.doc_id)
