"""`-i name=value` and `--json` parsing, and the checks made before anything is built."""

from __future__ import annotations

import base64
import io
import json

import pytest

from cog.cli.inputs import InputError, check_inputs, parse_input_flags, parse_json_inputs
from tests.cli.schemas import MIXED


def test_value_is_split_at_the_first_equals_sign() -> None:
    assert parse_input_flags(["text=a=b"], MIXED) == {"text": "a=b"}


def test_one_pair_of_surrounding_double_quotes_is_stripped() -> None:
    assert parse_input_flags(['text="hello world"'], MIXED) == {"text": "hello world"}
    assert parse_input_flags(['text=""quoted""'], MIXED) == {"text": '"quoted"'}
    assert parse_input_flags(['text="open'], MIXED) == {"text": '"open'}


def test_a_flag_without_equals_sign_is_rejected() -> None:
    with pytest.raises(
        InputError, match="Failed to parse input 'text', expected format is 'name=value'"
    ):
        parse_input_flags(["text"], MIXED)


def test_values_are_coerced_by_the_schema() -> None:
    parsed = parse_input_flags(
        ["text=5", "count=7", "scale=2", "flag=true", 'options={"a": [1]}', "color=green"],
        MIXED,
    )
    assert parsed == {
        "text": "5",
        "count": 7,
        "scale": 2,
        "flag": True,
        "options": {"a": [1]},
        "color": "green",
    }
    assert isinstance(parsed["scale"], int)
    assert parse_input_flags(["scale=0.25", "flag=false"], MIXED) == {"scale": 0.25, "flag": False}


def test_unparseable_numbers_stay_strings_for_the_check_to_report() -> None:
    parsed = parse_input_flags(["text=x", "count=many"], MIXED)
    assert parsed["count"] == "many"
    with pytest.raises(InputError, match='invalid input "count": expected integer, got string'):
        check_inputs(parsed, MIXED)


def test_integers_outside_int32_are_not_integers() -> None:
    assert parse_input_flags(["count=2147483648"], MIXED) == {"count": "2147483648"}
    assert parse_input_flags(["count=-2147483648"], MIXED) == {"count": -(2**31)}


def test_arrays_take_a_json_literal_or_a_single_scalar() -> None:
    assert parse_input_flags(["numbers=[1, 2]"], MIXED) == {"numbers": [1, 2]}
    assert parse_input_flags(["numbers=3"], MIXED) == {"numbers": [3]}
    assert parse_input_flags(["words=solo"], MIXED) == {"words": ["solo"]}


def test_repeated_names_make_a_list_of_coerced_items() -> None:
    assert parse_input_flags(["numbers=1", "numbers=2"], MIXED) == {"numbers": [1, 2]}
    assert parse_input_flags(["words=a", "words=b", "words=c"], MIXED) == {"words": ["a", "b", "c"]}


def test_unions_prefer_the_string_member_when_a_number_does_not_parse() -> None:
    assert parse_input_flags(["either=12"], MIXED) == {"either": 12}
    assert parse_input_flags(["either=twelve"], MIXED) == {"either": "twelve"}


def test_urls_are_passed_through_as_strings() -> None:
    url = "https://example.com/cat.png"
    assert parse_input_flags([f"image={url}"], MIXED) == {"image": url}


def test_at_file_becomes_a_data_url_with_the_mime_type_of_its_extension(tmp_path) -> None:
    png = tmp_path / "cat.png"
    png.write_bytes(b"\x89PNG-bytes")
    parsed = parse_input_flags([f"image=@{png}"], MIXED)
    assert parsed["image"] == "data:image/png;base64," + base64.b64encode(b"\x89PNG-bytes").decode()
    other = tmp_path / "blob.unknownext"
    other.write_bytes(b"\x00\x01")
    assert parse_input_flags([f"image=@{other}"], MIXED)["image"].startswith(
        "data:application/octet-stream;base64,"
    )


def test_repeated_at_files_become_a_list_of_data_urls(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "b.txt").write_text("B")
    parsed = parse_input_flags(
        [f"files=@{tmp_path / 'a.txt'}", f"files=@{tmp_path / 'b.txt'}"], MIXED
    )
    assert parsed["files"] == ["data:text/plain;base64,QQ==", "data:text/plain;base64,Qg=="]


def test_at_file_expands_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "note.txt").write_text("hi")
    assert parse_input_flags(["text=@~/note.txt"], MIXED)["text"] == "data:text/plain;base64,aGk="


def test_missing_at_file_names_the_file(tmp_path) -> None:
    with pytest.raises(InputError, match="cannot read input file .*nope.png"):
        parse_input_flags([f"image=@{tmp_path / 'nope.png'}"], MIXED)


def test_unknown_input_lists_the_valid_ones_in_order() -> None:
    with pytest.raises(InputError) as info:
        check_inputs({"text": "x", "txt": "y"}, MIXED)
    assert str(info.value) == (
        'unknown input "txt"; valid inputs are: text, count, scale, flag, image, words, '
        "numbers, files, options, color, either"
    )


def test_missing_required_input() -> None:
    with pytest.raises(InputError, match='missing required input "text"'):
        check_inputs({"count": 2}, MIXED)


def test_wrong_types_choices_and_nulls_are_named() -> None:
    with pytest.raises(InputError, match='invalid input "flag": expected boolean, got string'):
        check_inputs({"text": "x", "flag": "yes"}, MIXED)
    with pytest.raises(InputError, match='invalid input "color": must be one of: red, green'):
        check_inputs({"text": "x", "color": "blue"}, MIXED)
    with pytest.raises(
        InputError,
        match=r'invalid input "count": must not be null \(omit the input to use its default\)',
    ):
        check_inputs({"text": "x", "count": None}, MIXED)
    with pytest.raises(InputError, match='invalid input "count": expected integer, got boolean'):
        check_inputs({"text": "x", "count": True}, MIXED)


def test_nullable_inputs_accept_null_and_ints_are_numbers() -> None:
    check_inputs({"text": "x", "image": None, "scale": 3}, MIXED)


def test_json_inline_file_and_stdin(tmp_path, monkeypatch) -> None:
    assert parse_json_inputs('{"text": "hi", "count": 2}', MIXED) == {"text": "hi", "count": 2}
    source = tmp_path / "inputs.json"
    source.write_text(json.dumps({"text": "from file"}))
    assert parse_json_inputs(f"@{source}", MIXED) == {"text": "from file"}
    for flag in ("-", "@-"):
        monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "piped"}'))
        assert parse_json_inputs(flag, MIXED) == {"text": "piped"}


def test_json_at_strings_become_data_urls(tmp_path) -> None:
    (tmp_path / "in.txt").write_text("abc")
    parsed = parse_json_inputs(json.dumps({"text": "x", "image": f"@{tmp_path / 'in.txt'}"}), MIXED)
    assert parsed["image"] == "data:text/plain;base64,YWJj"


def test_json_unknown_names_are_rejected_before_files_are_read(tmp_path) -> None:
    with pytest.raises(InputError, match='unknown input "bogus"'):
        parse_json_inputs(json.dumps({"bogus": f"@{tmp_path / 'missing.bin'}"}), MIXED)


def test_json_must_be_an_object() -> None:
    with pytest.raises(InputError, match="--json must be a JSON object of inputs, got array"):
        parse_json_inputs("[1]", MIXED)
    with pytest.raises(InputError, match="invalid JSON in --json"):
        parse_json_inputs("{nope", MIXED)
