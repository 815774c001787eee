"""How documents enter and leave, by deployment: a drop folder locally, the S3 bucket on AWS."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ragchat.access import private_prefix
from ragchat.domain import DocumentRecord, IngestReport
from ragchat.errors import RagchatError
from ragchat.ingest.parsers import SUPPORTED_EXTENSIONS
from ragchat.ports import ChunkStore

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PRESIGNED_SECONDS = 900


class UploadRefused(RagchatError):
    """The file cannot be accepted (name, type, size, or this deployment takes uploads another way)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def safe_name(filename: str) -> str:
    name = _SAFE_NAME.sub("_", Path(filename or "").name).strip(" .")
    if not name or name.rsplit(".", 1)[-1].lower() not in SUPPORTED_EXTENSIONS:
        raise UploadRefused(415, f"unsupported file type; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
    return name


class LocalDocuments:
    """Uploads are written into the drop folder and ingested at once; deletes remove the file too."""

    def __init__(self, store: ChunkStore, drop_folder: Path | None,
                 ingest_file: Callable[[Path], IngestReport] | None):
        self.store, self.drop_folder, self.ingest_file = store, drop_folder, ingest_file

    def upload(self, filename: str, data: bytes, user_id: str) -> dict:
        """Into the uploader's own folder of the drop folder: the upload is theirs (ragchat/access.py)."""
        if self.drop_folder is None or self.ingest_file is None:
            raise UploadRefused(409, "uploads need a drop folder (ragchat serve --watch DIR)")
        name = safe_name(filename)
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadRefused(413, "file over 50 MB")
        relative = private_prefix(user_id) + name
        target = self.drop_folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{name}.part")  # hidden: the watcher ignores it until it is whole
        partial.write_bytes(data)
        partial.replace(target)
        report = self.ingest_file(target)
        skipped = dict(report.skipped)
        return {"path": relative, "status": "skipped" if skipped else "indexed",
                "reason": next(iter(skipped.values()), ""), "chunks": report.chunks_written}

    def presign(self, filename: str, user_id: str) -> dict:
        raise UploadRefused(409, "the local server takes uploads directly: POST /api/documents")

    def delete(self, record: DocumentRecord) -> int:
        if self.drop_folder and record.uri.startswith(self.drop_folder.resolve().as_uri() + "/"):
            (self.drop_folder / record.path).unlink(missing_ok=True)  # else the watcher would bring it back
        return self.store.delete_document(record.doc_id)


class S3Documents:
    """Uploads go straight to the bucket through presigned URLs; the bucket's events do the ingest."""

    def __init__(self, store: ChunkStore, bucket: str, client=None):
        if client is None:
            import boto3
            from botocore.config import Config

            # SigV4: the only signature a KMS-encrypted bucket accepts for presigned PUTs
            client = boto3.client("s3", config=Config(signature_version="s3v4"))
        self.store, self.bucket, self.client = store, bucket, client

    def upload(self, filename: str, data: bytes, user_id: str) -> dict:
        raise UploadRefused(409, "upload with a presigned URL: POST /api/uploads")

    def presign(self, filename: str, user_id: str) -> dict:
        key = private_prefix(user_id) + safe_name(filename)
        url = self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=PRESIGNED_SECONDS)
        return {"method": "PUT", "url": url, "key": key, "expiresIn": PRESIGNED_SECONDS}

    def delete(self, record: DocumentRecord) -> int:
        self.client.delete_object(Bucket=self.bucket, Key=record.path)  # the removed event would follow
        return self.store.delete_document(record.doc_id)  # but the chunks go now
