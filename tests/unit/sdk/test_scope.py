"""`current_scope()`, metrics recording rules and messages (spec §1.11), prediction scopes."""

from __future__ import annotations

import asyncio
import threading

import pytest

import cog
from cog.scope import Scope, current_scope, nest_metrics, prediction_scope, validate_metric_name


@pytest.fixture
def recorded():
    events: list[tuple[str, object, str]] = []
    with prediction_scope({"user": "u1"}, lambda *e: events.append(e)) as scope:
        yield scope, events


def test_no_op_scope_outside_a_prediction():
    scope = cog.current_scope()
    assert isinstance(scope, Scope)
    scope.record_metric("anything", 1)
    scope.metrics["x"] = "y"
    del scope.metrics["x"]
    scope.record_metric("predict_time", 1)  # ignored, not validated
    assert scope.context == {}
    assert scope.metrics.as_dict() == {}


def test_prediction_scope_is_current_inside_and_restored_after():
    with prediction_scope({"a": "b"}) as scope:
        assert current_scope() is scope
        assert scope.context == {"a": "b"}
    assert current_scope() is not scope
    with prediction_scope(None) as scope:
        assert scope.context == {}


def test_async_tasks_inherit_the_scope():
    async def child() -> Scope:
        await asyncio.sleep(0)
        return current_scope()

    async def main() -> tuple[Scope, Scope, Scope]:
        with prediction_scope({"id": "1"}) as one:
            task_one = asyncio.create_task(child())
        with prediction_scope({"id": "2"}) as two:
            task_two = asyncio.create_task(child())
        assert await task_one is one
        assert await task_two is two
        return one, two, current_scope()

    one, two, after = asyncio.run(main())
    assert one is not two and after.context == {}


def test_threads_started_by_a_sync_prediction_see_its_scope():
    seen: list[Scope] = []

    def look() -> None:
        seen.append(current_scope())

    with prediction_scope({"id": "sync"}) as scope:
        t = threading.Thread(target=look)
        t.start()
        t.join()
    t = threading.Thread(target=look)
    t.start()
    t.join()
    assert seen[0] is scope
    assert seen[1] is not scope and seen[1].context == {}


def test_threads_started_by_async_predictions_get_no_scope():
    seen: list[Scope] = []

    async def main() -> Scope:
        with prediction_scope({"id": "async"}) as scope:
            await asyncio.to_thread(lambda: seen.append(current_scope()))
            return scope

    scope = asyncio.run(main())
    # to_thread copies the context, plain threads do not: either way no other scope leaks in.
    assert seen[0] is scope
    seen.clear()

    async def plain_thread() -> None:
        with prediction_scope({"id": "async"}):
            t = threading.Thread(target=lambda: seen.append(current_scope()))
            t.start()
            t.join()

    asyncio.run(plain_thread())
    assert seen[0].context == {}


def test_replace_incr_append(recorded):
    scope, events = recorded
    scope.record_metric("temperature", 0.7)
    scope.record_metric("temperature", 0.9)
    scope.record_metric("tokens", 1, mode="incr")
    scope.record_metric("tokens", 2, mode="increment")
    scope.record_metric("tokens", 0.5, mode="incr")
    scope.record_metric("logprobs", -1.0, mode="append")
    scope.record_metric("logprobs", -2.0, mode="append")
    scope.record_metric("single", "a")
    scope.record_metric("single", "b", mode="append")
    assert scope.metrics.as_dict() == {
        "temperature": 0.9,
        "tokens": 3.5,
        "logprobs": [-1.0, -2.0],
        "single": ["a", "b"],
    }
    assert events[:3] == [
        ("temperature", 0.7, "replace"),
        ("temperature", 0.9, "replace"),
        ("tokens", 1, "incr"),
    ]
    assert events[3] == ("tokens", 2, "incr")


def test_recorder_mapping_api_and_deletion(recorded):
    scope, events = recorded
    metrics = scope.metrics
    metrics["count"] = 3
    assert metrics["count"] == 3 and "count" in metrics and len(metrics) == 1
    metrics["count"] = None
    assert "count" not in metrics
    metrics.record("a", 1)
    metrics.record("a", None)  # recording None deletes too
    assert "a" not in metrics
    metrics["b"] = 1
    del metrics["b"]
    metrics.delete("never_set")
    assert ("count", None, "delete") in events
    assert ("b", None, "delete") in events
    assert not any(e[0] == "never_set" for e in events)


def test_type_is_sticky_until_deleted(recorded):
    scope, _ = recorded
    scope.record_metric("k", 1)
    with pytest.raises(
        TypeError, match=r"^Metric 'k' has type int, cannot set to str without deleting first$"
    ):
        scope.record_metric("k", "x")
    scope.record_metric("k", 2.5)  # numbers are one type
    del scope.metrics["k"]
    scope.record_metric("k", "x")
    assert scope.metrics["k"] == "x"


def test_incr_needs_numbers(recorded):
    scope, _ = recorded
    with pytest.raises(TypeError, match=r"^Increment mode requires int or float, got str$"):
        scope.record_metric("n", "1", mode="incr")
    with pytest.raises(TypeError, match=r"^Increment mode requires int or float, got bool$"):
        scope.record_metric("n", True, mode="incr")


def test_invalid_mode(recorded):
    scope, _ = recorded
    with pytest.raises(
        TypeError, match=r"^Invalid metric mode: 'sum'\. Expected 'replace', 'incr', or 'append'\.$"
    ):
        scope.record_metric("n", 1, mode="sum")


def test_unsupported_value_type(recorded):
    scope, _ = recorded
    with pytest.raises(TypeError, match=r"^Unsupported metric value type: tuple"):
        scope.record_metric("n", (1, 2))
    with pytest.raises(TypeError, match=r"^Unsupported metric value type: bytes"):
        scope.record_metric("n", b"x", mode="append")
    for value in (True, 1, 1.5, "s", [1], {"a": 1}):
        scope.metrics.delete("v")
        scope.record_metric("v", value)


@pytest.mark.parametrize(
    "name",
    ["a", "tokens", "timing.inference", "a1.b_c.d.e", "A" * 128, "x_y"],
)
def test_valid_names(name):
    validate_metric_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("predict_time", "'predict_time' is reserved by the runtime"),
        ("cog.thing", "the 'cog.' prefix is reserved"),
        (".a", "must not start with a dot"),
        ("a.", "must not end with a dot"),
        ("a..b", r"must not contain empty segments \(consecutive dots\)"),
        ("a.b.c.d.e", "5 dot-separated segments; the maximum is 4"),
        ("a" * 129, "129 characters; the maximum is 128"),
        ("1abc", "must start with a letter"),
        ("_abc", "must start with a letter"),
        ("ab-c", "only letters, digits and underscores"),
        ("abc_", "must not have a leading, trailing or double underscore"),
        ("a__b", "must not have a leading, trailing or double underscore"),
        ("", "must not be empty"),
    ],
)
def test_invalid_names(recorded, name, message):
    scope, events = recorded
    with pytest.raises(ValueError, match=message):
        scope.record_metric(name, 1)
    assert events == []


def test_dot_paths_nest():
    assert nest_metrics({"timing.inference": 1.5, "timing.load": 2, "count": 3}) == {
        "timing": {"inference": 1.5, "load": 2},
        "count": 3,
    }
    assert nest_metrics({"a": 1, "a.b": 2}) == {"a": {"b": 2}}


def test_base_runner_forwards(recorded):
    scope, _ = recorded

    class Runner(cog.BaseRunner):
        def run(self) -> str:
            self.record_metric("x", 1)
            self.scope.metrics["y"] = 2
            return ""

    Runner().run()
    assert scope.metrics.as_dict() == {"x": 1, "y": 2}
