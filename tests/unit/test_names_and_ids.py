"""Names and ids that become keys, paths or frame fields: the whole value is checked, and upload
names keep their meaning (letters of any script) without ever colliding or growing past a key."""

import json

import pytest

from ragchat.access import check_user_id
from ragchat.chat import protocol
from ragchat.errors import ProtocolError, UnsupportedUpload
from ragchat.uploads import safe_name, upload_key


@pytest.mark.parametrize("bad", ["alice\n", "alice\r\n", "\nalice", "al ice"])
def test_access_user_id_with_a_line_break_or_space_is_refused(bad):
    with pytest.raises(ValueError):
        check_user_id(bad)


def test_protocol_request_id_with_a_trailing_newline_is_refused():
    with pytest.raises(ProtocolError) as error:
        protocol.parse_client_frame(json.dumps({"action": "ping", "requestId": "r1\n"}))
    assert error.value.code == "bad_request"
    assert protocol.request_id_of(json.dumps({"action": "x", "requestId": "r1\n"})) is None


def test_protocol_deeply_nested_frame_is_bad_json():
    raw = "[" * 30000  # under the 32 KB frame limit, far over the decoder's recursion limit
    with pytest.raises(ProtocolError) as error:
        protocol.parse_client_frame(raw)
    assert error.value.code == "bad_json"
    assert protocol.request_id_of(raw) is None


def test_uploads_names_in_other_scripts_keep_their_letters_and_stay_apart():
    names = ["отчёт.md", "报告.md", "Übersicht.md", "レポート.md", "تقرير.md"]
    keys = [upload_key(name, "alice") for name in names]
    assert keys == [f"uploads/alice/{name}" for name in names]


def test_uploads_names_differing_only_in_replaced_characters_get_different_keys():
    first, second = safe_name("plan?v1.md"), safe_name("plan*v1.md")
    assert first != second
    assert first.startswith("plan_v1-") and first.endswith(".md")


def test_uploads_names_are_nfkc_normalised():
    assert safe_name("ﬁle.md") == "file.md"  # the ligature is one compatibility character
    assert safe_name("Ｒｅｐｏｒｔ.md") == "Report.md"


def test_uploads_long_names_are_capped_in_bytes_and_stay_distinct():
    first, second = safe_name("é" * 5000 + "a.md"), safe_name("é" * 5000 + "b.md")
    assert first != second
    assert len(first.encode()) <= 255 and first.endswith(".md")  # a file name on every file system
    assert len(upload_key("x" * 5000 + ".pdf", "u" * 128).encode()) <= 1024  # S3's key limit


@pytest.mark.parametrize("name", [".md", "..md", "md", "notes", "notes.", "___.md", "../.md", "a.exe", "a.md.exe"])
def test_uploads_name_without_a_stem_and_a_supported_extension_is_refused(name):
    with pytest.raises(UnsupportedUpload):
        safe_name(name)


def test_uploads_folders_and_controls_never_reach_the_key():
    assert safe_name("../../etc/passwd.md") == "passwd.md"
    assert safe_name("C:\\Users\\me\\notes.txt") == "notes.txt"
    assert "\n" not in safe_name("a\nb.md") and "/" not in safe_name("a\u2215b.md")
