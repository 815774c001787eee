"""Documents as objects in the bucket: clients upload straight to the bucket with presigned URLs, and the
bucket's events do the ingest."""

from __future__ import annotations

from ragchat.domain import DocumentRecord, PresignedUpload, UploadOutcome
from ragchat.errors import UploadNotAccepted
from ragchat.ports import ChunkStore
from ragchat.uploads import upload_key

PRESIGNED_SECONDS = 900


class S3DocumentFiles:
    upload_method = "presigned"

    def __init__(self, store: ChunkStore, bucket: str, client=None):
        if client is None:
            import boto3
            from botocore.config import Config

            # SigV4: the only signature a KMS-encrypted bucket accepts for presigned PUTs
            client = boto3.client("s3", config=Config(signature_version="s3v4"))
        self.store, self.bucket, self.client = store, bucket, client

    def upload(self, filename: str, data: bytes, user_id: str) -> UploadOutcome:
        raise UploadNotAccepted("upload with a presigned URL: POST /api/uploads")

    def presign(self, filename: str, user_id: str) -> PresignedUpload:
        key = upload_key(filename, user_id)
        url = self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=PRESIGNED_SECONDS)
        return PresignedUpload(method="PUT", url=url, key=key, expires_in=PRESIGNED_SECONDS)

    def delete(self, record: DocumentRecord) -> int:
        self.client.delete_object(Bucket=self.bucket, Key=record.path)  # the removed event would follow
        return self.store.delete_document(record.doc_id)  # but the chunks go now
