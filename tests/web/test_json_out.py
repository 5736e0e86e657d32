"""Answers' JSON is written by orjson (web.http.json_out) with what Flask wrote before: the same
values, keys sorted, compact UTF-8; what orjson cannot write goes to the standard library."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from flask import Flask, jsonify
from flask import json as flask_json
from flask.json.provider import DefaultJSONProvider

from web.http import json_out


@dataclasses.dataclass
class Point:
    lat: float
    lon: float


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    json_out.install(app)
    return app


def test_answers_are_compact_utf8_with_sorted_keys(app: Flask) -> None:
    with app.app_context():
        answer = jsonify({"title": "电梯困人", "id": 7, "tags": [None, True, 1.5]})
    assert answer.mimetype == "application/json"
    assert answer.get_data() == '{"id":7,"tags":[null,true,1.5],"title":"电梯困人"}\n'.encode()


def test_values_orjson_has_its_own_format_for_are_written_as_flask_wrote_them(app: Flask) -> None:
    value = {
        "at": datetime(2026, 12, 2, 6, 30, tzinfo=UTC),
        "on": date(2026, 12, 2),
        "fee": Decimal("12.50"),
        "uid": UUID(int=96933),
        "where": Point(31.23, 121.47),
    }
    with app.app_context():
        ours = json.loads(jsonify(value).get_data())
    flask = Flask("plain")
    flask.json = DefaultJSONProvider(flask)
    with flask.app_context():
        before = json.loads(jsonify(value).get_data())
    assert ours == before
    assert ours["at"] == "Wed, 02 Dec 2026 06:30:00 GMT"  # an HTTP date, not orjson's ISO text


def test_an_integer_beyond_64_bits_is_written_exactly(app: Flask) -> None:
    with app.app_context():
        assert json.loads(jsonify({"n": 2**70}).get_data()) == {"n": 2**70}
        assert json.loads(flask_json.dumps([-(2**65)])) == [-(2**65)]


def test_a_value_nobody_can_write_is_still_a_type_error(app: Flask) -> None:
    with app.app_context(), pytest.raises(TypeError):
        jsonify({"x": object()})


def test_dumps_sorts_keys_and_leaves_other_options_to_the_standard_library(app: Flask) -> None:
    with app.app_context():
        # flask-smorest's ETag hashes flask.json.dumps(data, sort_keys=True)
        assert flask_json.dumps({"b": 1, "a": "梯"}, sort_keys=True) == '{"a":"梯","b":1}'
        assert flask_json.dumps({"b": 1, "a": 2}, indent=2) == '{\n  "a": 2,\n  "b": 1\n}'
        assert flask_json.dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b": 1, "a": 2}'


def test_debug_answers_stay_pretty_printed(app: Flask) -> None:
    app.debug = True
    with app.app_context():
        assert jsonify({"b": 1, "a": 2}).get_data() == b'{\n  "a": 2,\n  "b": 1\n}\n'
