"""What a user may do with documents through an API: list and read what they may see, add files,
and delete their own uploads (and, where the deployment says so, the shared library)."""

from __future__ import annotations

from ragchat.access import is_visible, may_delete
from ragchat.domain import Chunk, DocumentRecord, PresignedUpload, UploadOutcome
from ragchat.errors import DocumentNotFound, NotAllowed
from ragchat.ports import ChunkStore, DocumentFiles


class DocumentService:
    def __init__(self, store: ChunkStore, files: DocumentFiles, manage_shared: bool):
        """`manage_shared`: users may delete shared documents (the single local user may; on AWS the
        shared library is managed in the bucket)."""
        self.store, self.files, self.manage_shared = store, files, manage_shared

    @property
    def upload_method(self) -> str:
        return self.files.upload_method

    def visible(self, user_id: str) -> list[DocumentRecord]:
        return [d for d in self.store.list_documents() if is_visible(d.path, user_id)]

    def get(self, doc_id: str, user_id: str) -> DocumentRecord:
        record = self.store.get_document(doc_id)
        if record is None or not is_visible(record.path, user_id):  # another user's upload: "no such"
            raise DocumentNotFound(f"no document {doc_id}")
        return record

    def chunks(self, doc_id: str, user_id: str) -> tuple[DocumentRecord, list[Chunk]]:
        return self.get(doc_id, user_id), self.store.get_chunks(doc_id)

    def delete(self, doc_id: str, user_id: str) -> int:
        record = self.get(doc_id, user_id)
        if not may_delete(record.path, user_id, self.manage_shared):
            raise NotAllowed("shared documents are managed in the bucket")
        return self.files.delete(record)

    def upload(self, filename: str, data: bytes, user_id: str) -> UploadOutcome:
        return self.files.upload(filename, data, user_id)

    def presign(self, filename: str, user_id: str) -> PresignedUpload:
        return self.files.presign(filename, user_id)
