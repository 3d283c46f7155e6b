"""The one reader of user files (mezan.inputs): sizes, UTF-8, JSON syntax and nesting refused by file and place,
never by a RecursionError or a quote of the file; and every command that reads a JSON file goes through it."""

import json
import os

import pytest

from mezan.cli import main
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.inputs import MAX_JSON_DEPTH, json_depth, read_bytes, read_json, read_text, shown


def test_a_json_file_is_read_with_its_value(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"type": "qap", "A": [[0, 1], [1, 0]], "note": "[[[{{{"}))
    assert read_json(path)["note"] == "[[[{{{"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark is dropped
    assert read_json(path)["type"] == "qap"


def test_depth_counts_brackets_outside_strings_only():
    assert json_depth("1") == 0 and json_depth("[1, [2, {\"a\": [3]}]]") == 4
    assert json_depth('["[[[[", "\\"[[[", {"]]]": "{{{"}]') == 2


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deep_nesting_is_refused_by_its_depth_not_a_recursion_error(tmp_path, opening):
    path = tmp_path / "deep.json"
    path.write_text(opening * 100_000)
    with pytest.raises(InvalidProblemError, match=rf"problem file {path}: arrays and objects nest 100,000 deep, more "
                                                  rf"than the {MAX_JSON_DEPTH} levels"):
        read_json(path)
    path.write_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)  # as deep as allowed
    assert read_json(path) is not None


def test_text_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(InvalidProblemError, match=rf"problem file {path}: not UTF-8 text \(byte 13 of the file\)"):
        read_json(path)


def test_json_that_does_not_parse_names_line_and_column_and_quotes_nothing(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "key": SECRET-9a1\n}')
    with pytest.raises(InvalidProblemError, match=rf"study spec {path}, line 2 column 10: not valid JSON") as caught:
        read_json(path, what="study spec")
    assert "SECRET" not in str(caught.value)
    path.write_text("1" * 5000)  # more digits than Python converts
    with pytest.raises(InvalidProblemError, match="not valid JSON"):
        read_json(path)


def test_size_is_bounded_before_reading_and_a_device_is_cut_off(tmp_path):
    path = tmp_path / "big.json"
    path.write_text("[" + "0," * 100 + "0]")
    with pytest.raises(InvalidProblemError, match=rf"{path}: 203 bytes, more than the 100 bytes a file may have"):
        read_json(path, max_bytes=100)
    with pytest.raises(InvalidProblemError, match="more than the 1,000 bytes"):  # never ends, stat says 0 bytes
        read_bytes("/dev/zero", max_bytes=1000)
    assert read_text(path, max_bytes=1000).startswith("[0,")


def test_a_missing_file_or_a_folder_is_named(tmp_path):
    with pytest.raises(InvalidParameterError, match=rf"problem file {tmp_path / 'no.json'}: cannot read it \(No such"):
        read_json(tmp_path / "no.json")
    with pytest.raises(InvalidParameterError, match="is a folder, a file is expected"):
        read_json(tmp_path)


@pytest.mark.parametrize("command", [["solve"], ["analyze"], ["bench", "register"]])
def test_every_command_reading_a_json_file_refuses_it_in_one_line(tmp_path, capsys, command):
    deep, latin1 = tmp_path / "deep.json", tmp_path / "latin1.json"
    deep.write_text("[" * 100_000)
    latin1.write_bytes(b'{"type": "qap", "name": "caf\xe9"}')
    store = ["--store", str(tmp_path / "s.db")] if command[0] == "bench" else []
    for path, message in ((deep, "nest 100,000 deep"), (latin1, "not UTF-8 text (byte 28 of the file)")):
        assert main([*command, str(path), *store]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("mezan: error:") and message in err and str(path) in err and "\n" not in err


def test_a_named_pipe_that_nobody_writes_to_reads_as_empty_and_a_dat_pipe_is_refused(tmp_path, capsys):
    os.mkfifo(tmp_path / "p.json")
    os.mkfifo(tmp_path / "p.dat")
    with pytest.raises(InvalidProblemError, match="line 1 column 1: not valid JSON"):
        read_json(tmp_path / "p.json")  # at once: opening it does not wait for a writer
    assert main(["solve", str(tmp_path / "p.dat"), "--time", "0.1"]) == 2
    assert "not a regular file (a pipe, device or socket)" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "message"), [
    ("x\0.json", "a path cannot hold a NUL byte"),
    ("n" * 300 + ".json", "File name too long"),
    ("n" * 300 + ".dat", "File name too long"),
])
def test_paths_the_system_cannot_open_are_one_line_errors(tmp_path, capsys, name, message):
    assert main(["solve", str(tmp_path / name), "--time", "0.1"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_path_is_shown_with_its_control_characters_escaped_and_shortened():
    assert shown("/tmp/a\nb.dat") == "/tmp/a\\nb.dat"
    assert shown("x\udc80y") == "x\\udc80y"  # a name that is not UTF-8, as Python decodes it
    assert shown("a" * 500).endswith("...") and len(shown("a" * 500)) == 203


def test_a_file_named_with_a_newline_gets_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "a\nb.dat"
    path.write_text("3")
    assert main(["solve", str(path), "--time", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a\\nb.dat:1: expected 2*n*n = 18" in err


def test_an_unpaired_surrogate_escape_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"type": "qap", "name": "\\ud800", "A": [[0, 1], [1, 0]], "B": [[0, 1], [1, 0]]}')
    with pytest.raises(InvalidProblemError, match="an unpaired surrogate escape"):
        read_json(path)
    path.write_text('{"name": "\\ud83d\\ude00"}')  # a pair is one character
    assert read_json(path) == {"name": "\U0001F600"}
