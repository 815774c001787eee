"""A folder that plays the S3 bucket: keys are paths relative to the folder, with '/' separators."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ragchat.domain import SourceObject


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


class FolderSource:
    """DocumentSource over a directory tree (hidden files and folders are left out)."""

    def __init__(self, root: str | Path, only: list[Path] | None = None):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root} is not a folder")
        self.root_uri = self.root.as_uri() + "/"
        self._only = [Path(p).resolve() for p in only] if only else None

    def object_for(self, path: Path) -> SourceObject:
        path = Path(path).resolve()
        relative = path.relative_to(self.root)
        stat = path.stat()
        return SourceObject(
            key=relative.as_posix(), uri=path.as_uri(), size=stat.st_size, version=str(stat.st_mtime_ns)
        )

    def stat(self, key: str, version: str | None = None) -> SourceObject | None:
        path = self.root / key
        return self.object_for(path) if path.is_file() else None

    def uri_for(self, key: str) -> str:
        return (self.root / key).as_uri()

    def list(self) -> Iterator[SourceObject]:
        if self._only is not None:
            for path in self._only:
                yield self.object_for(path)
            return
        for directory, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = Path(directory) / name
                if not _is_hidden(path.relative_to(self.root)) and path.is_file():
                    yield self.object_for(path)

    def read(self, obj: SourceObject) -> bytes:
        return (self.root / obj.key).read_bytes()
