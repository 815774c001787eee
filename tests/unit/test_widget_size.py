"""The widget stays small enough to embed anywhere (benchmarks/widget.py prints the figure)."""

import gzip
from pathlib import Path

import ragchat

WIDGET = Path(ragchat.__file__).parent / "server" / "static" / "widget.js"


def test_widget_with_its_dependencies_is_under_30_kb_gzipped():
    source = WIDGET.read_text()
    assert "import " not in source and "require(" not in source  # no dependency to add to the figure
    assert len(gzip.compress(source.encode(), compresslevel=9)) < 30 * 1024
