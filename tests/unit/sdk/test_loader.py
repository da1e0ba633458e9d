"""The loader: reference resolution, method choice and every §1.2-1.3 load-time message."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import warnings
from pathlib import Path

import pytest

import cog
from cog.input import UNSET
from cog.loader import LoadError, load_runner

from .conftest import FIXTURES

HEADER = "from typing import Any, Iterator, AsyncIterator, Optional\nimport cog\nfrom cog import BaseRunner, BasePredictor, Input, Path\n"


def model(body: str) -> str:
    return HEADER + body


# --- reference resolution ------------------------------------------------------------


def test_explicit_class_name(load):
    runner = load(
        model("""
class Mine(BaseRunner):
    def run(self, x: int) -> int:
        return x * 2
"""),
        ref="predict.py:Mine",
    )
    assert runner.name == "Mine"
    assert runner.mode == "predict"
    assert runner.method_name == "run"
    assert runner.method(x=4) == 8
    assert isinstance(runner.instance, runner.module.Mine)


def test_file_only_prefers_runner_then_predictor(load):
    runner = load(model("class Runner:\n    def run(self) -> str:\n        return 'r'\n"))
    assert runner.name == "Runner"
    with pytest.warns(DeprecationWarning, match="Predictor is deprecated; use Runner instead"):
        runner = load(model("class Predictor:\n    def run(self) -> str:\n        return 'p'\n"))
    assert runner.name == "Predictor"


def test_both_runner_and_predictor_runner_wins_with_user_warning(load):
    src = model("""
class Runner:
    def run(self) -> str:
        return 'r'
class Predictor:
    def run(self) -> str:
        return 'p'
""")
    with pytest.warns(UserWarning, match="Both Runner and Predictor are defined; using Runner"):
        runner = load(src)
    assert runner.method() == "r"


def test_invalid_runner_falls_back_to_predictor(load):
    src = model("""
class Runner:
    pass
class Predictor:
    def run(self) -> str:
        return 'p'
""")
    with pytest.warns(DeprecationWarning, match="Predictor is deprecated"):
        runner = load(src)
    assert runner.name == "Predictor"


def test_invalid_runner_alone_reports_its_error(load):
    with pytest.raises(LoadError, match=r"^run or predict method not found: Runner$"):
        load(model("class Runner:\n    pass\n"))


def test_neither_runner_nor_predictor(load):
    with pytest.raises(LoadError, match="predict.py defines neither Runner nor Predictor"):
        load(model("x = 1\n"))


def test_missing_explicit_name(load):
    with pytest.raises(LoadError, match="predict.py defines no 'Nope'"):
        load(model("x = 1\n"), ref="predict.py:Nope")


def test_missing_file(tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        load_runner("missing.py:Runner", tmp_path)


def test_reference_must_name_a_python_file(tmp_path):
    with pytest.raises(LoadError, match="expected the form file.py:Name"):
        load_runner("predict:Runner", tmp_path)


def test_not_a_class_or_function(load):
    with pytest.raises(LoadError, match="Thing is neither a class nor a function"):
        load(model("Thing = 3\n"), ref="predict.py:Thing")


def test_file_in_subdirectory_and_sibling_imports(write_model):
    project = write_model("VALUE = 'from helper'\n", "helper.py")
    (project / "src").mkdir()
    (project / "src" / "model.py").write_text(
        "import helper\nclass Runner:\n    def run(self) -> str:\n        return helper.VALUE\n"
    )
    runner = load_runner("src/model.py:Runner", project)
    assert runner.method() == "from helper"


def test_user_import_errors_propagate_unchanged(load):
    with pytest.raises(ZeroDivisionError):
        load(model("1 / 0\n"))
    assert "predict" not in sys.modules


def test_module_registered_for_pickle(load):
    runner = load(model("class Runner:\n    def run(self) -> str:\n        return 'x'\n"))
    assert sys.modules["predict"] is runner.module


def test_sys_argv_reset_during_import(load, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["server", "--port", "5000"])
    runner = load(
        model("""
import sys, argparse
SEEN = list(sys.argv)
ARGS = argparse.ArgumentParser().parse_args()
class Runner:
    def run(self) -> str:
        return 'x'
""")
    )
    assert runner.module.SEEN == ["server"]
    assert sys.argv == ["server", "--port", "5000"]


def test_bundled_fixture_loads():
    runner = load_runner("predict.py:Runner", FIXTURES / "worked_example")
    assert list(runner.inputs) == ["prompt", "steps", "style", "image"]
    assert runner.output_type == list[cog.Path]


# --- method choice ---------------------------------------------------------------------


def test_plain_class_without_base(load):
    runner = load(model("class Runner:\n    def run(self, a: str) -> str:\n        return a\n"))
    assert runner.method(a="hi") == "hi"


def test_both_run_and_predict(load):
    src = model("""
class Runner(BaseRunner):
    def run(self) -> str:
        return 'a'
    def predict(self) -> str:
        return 'b'
""")
    with pytest.raises(
        LoadError, match=r"^Runner must define either run\(\) or predict\(\), not both$"
    ):
        load(src)


def test_neither_run_nor_predict(load):
    with pytest.raises(LoadError, match=r"^run or predict method not found: Runner$"):
        load(model("class Runner(BaseRunner):\n    pass\n"), ref="predict.py:Runner")


def test_predict_is_deprecated(load):
    src = model("class Runner:\n    def predict(self, x: int) -> int:\n        return x\n")
    with pytest.warns(
        DeprecationWarning, match=r"Runner\.predict\(\) is deprecated; use run\(\) instead"
    ):
        runner = load(src)
    assert runner.method_name == "predict"
    assert runner.method(x=3) == 3


def test_base_predictor_is_deprecated(load):
    src = model("class Runner(BasePredictor):\n    def run(self) -> str:\n        return 'x'\n")
    with pytest.warns(
        DeprecationWarning, match="BasePredictor is deprecated; use BaseRunner instead"
    ):
        load(src)


def test_base_runner_emits_no_deprecation(load):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(model("class Runner(BaseRunner):\n    def run(self) -> str:\n        return 'x'\n"))


def test_mixin_after_base_runner_does_not_count(load):
    src = model("""
class Mixin:
    def predict(self) -> str:
        return 'mixin'
class Runner(BaseRunner, Mixin):
    def run(self) -> str:
        return 'run'
""")
    runner = load(src)
    assert runner.method_name == "run"


def test_method_inherited_from_user_base_counts(load):
    src = model("""
class Base(BaseRunner):
    def run(self, x: int) -> int:
        return x + 1
class Runner(Base):
    pass
""")
    assert load(src).method(x=1) == 2


def test_predict_and_run_bridge_on_base_runner(load):
    src = model("""
class Legacy(BasePredictor):
    def predict(self, x: int) -> int:
        return x * 10
class Current(BaseRunner):
    def run(self, x: int) -> int:
        return x + 1
""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        legacy = load(src, ref="predict.py:Legacy")
        current = load(src, ref="predict.py:Current")
    assert legacy.instance.run(x=2) == 20
    assert current.instance.predict(x=2) == 3
    with pytest.raises(NotImplementedError, match="run has not been implemented"):
        cog.BaseRunner().run()


def test_function_runner(load):
    runner = load(
        model("def run(text: str, n: int = 2) -> str:\n    return text * n\n"), ref="predict.py:run"
    )
    assert runner.instance is None and runner.is_function
    assert not runner.has_setup
    assert runner.method(text="a", n=3) == "aaa"
    assert [f.name for f in runner.inputs.values()] == ["text", "n"]
    assert runner.inputs["n"].default == 2


def test_single_instance_keeps_state(load):
    src = model("""
class Runner:
    def __init__(self):
        self.calls = 0
    def run(self) -> int:
        self.calls += 1
        return self.calls
""")
    runner = load(src)
    assert [runner.method(), runner.method(), runner.method()] == [1, 2, 3]


# --- signature rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("def run(self, *args: int) -> str", r"^run\(\) must not have \*args$"),
        ("def run(self, **kwargs: int) -> str", r"^run\(\) must not have \*\*kwargs$"),
        ("def run(self, *, x: int) -> str", r"^run\(\) must not have keyword-only args$"),
        ("def run(self, x) -> str", r"^missing type annotation for input: x$"),
        ("def run(self, x: int)", r"^run\(\) must have a return type annotation$"),
        ("def run(self, x: int) -> None", r"^run\(\) must have a return type annotation$"),
        ("def run(x: int) -> str", r"^run\(\) must have 'self' as first argument$"),
    ],
)
def test_run_signature_rules(load, signature, message):
    with pytest.raises(LoadError, match=message):
        load(model(f"class Runner:\n    {signature}:\n        return 'x'\n"))


def test_predict_signature_messages_name_predict(load):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(LoadError, match=r"^predict\(\) must have a return type annotation$"):
            load(model("class Runner:\n    def predict(self, x: int):\n        return 1\n"))


def test_function_return_annotation_message_names_the_function(load):
    with pytest.raises(LoadError, match=r"^infer\(\) must have a return type annotation$"):
        load(model("def infer(x: int):\n    return x\n"), ref="predict.py:infer")


def test_future_annotations_resolved(load):
    src = "from __future__ import annotations\n" + model("""
from typing import List
class Out(cog.BaseModel):
    text: str
class Runner(BaseRunner):
    def setup(self) -> None:
        pass
    def run(self, p: Path, xs: List[int] = Input(default=[1]), o: Optional[str] = None) -> Out:
        return Out(text='x')
""")
    runner = load(src)
    assert runner.inputs["p"].annotation is cog.Path
    assert runner.inputs["p"].type.kind == "path"
    assert runner.inputs["xs"].type.is_list
    assert runner.inputs["o"].nullable
    assert runner.output_type is runner.module.Out


def test_future_annotations_none_return_counts_as_missing(load):
    src = "from __future__ import annotations\n" + model(
        "class Runner:\n    def run(self, x: int) -> None:\n        return None\n"
    )
    with pytest.raises(LoadError, match=r"^run\(\) must have a return type annotation$"):
        load(src)


def test_unresolvable_annotation(load):
    src = "from __future__ import annotations\n" + model(
        "class Runner:\n    def run(self, x: Missing) -> str:\n        return 'x'\n"
    )
    with pytest.raises(LoadError, match=r"unable to resolve the type annotation of input: x"):
        load(src)


def test_decorated_method_unwrapped(load):
    src = model("""
import functools
def deco(fn):
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
def wraps_deco(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) + '!'
    return wrapper
class Runner:
    @deco
    def run(self, text: str = Input(default='hi')) -> str:
        return text
class Other:
    @wraps_deco
    def run(self, text: str) -> str:
        return text
""")
    runner = load(src)
    assert list(runner.inputs) == ["text"]
    assert runner.method(text="hi") == "hi"
    other = load(src, ref="predict.py:Other")
    assert other.method(text="a") == "a!"


def test_decorator_closing_over_two_functions(load):
    src = model("""
def helper():
    pass
def deco(fn):
    def wrapper(*args, **kwargs):
        helper_ref = other
        return fn(*args, **kwargs)
    other = helper
    return wrapper
class Runner:
    @deco
    def run(self, text: str) -> str:
        return text
""")
    with pytest.raises(LoadError, match="unable to inspect function decorator"):
        load(src)


# --- inputs ------------------------------------------------------------------------------


def test_inputs_in_signature_order_with_defaults(load):
    src = model("""
class Runner:
    def run(self, a: str, b: int = 3, c: float = Input(default=0.5, ge=0, le=1, description='C'),
            d: Optional[str] = None, e: Optional[int] = Input(), seed: int = Input(default=None)) -> str:
        return ''
""")
    inputs = load(src).inputs
    assert [(f.name, f.order) for f in inputs.values()] == [
        ("a", 0),
        ("b", 1),
        ("c", 2),
        ("d", 3),
        ("e", 4),
        ("seed", 5),
    ]
    assert inputs["a"].required and inputs["a"].default is UNSET and inputs["a"].field_info is None
    assert not inputs["b"].required and inputs["b"].default == 3 and inputs["b"].field_info is None
    c = inputs["c"]
    assert (c.default, c.ge, c.le, c.description) == (0.5, 0, 1, "C")
    assert isinstance(c.field_info, cog.FieldInfo)
    assert not inputs["d"].required and inputs["d"].default is None and inputs["d"].nullable
    assert (
        not inputs["e"].required and not inputs["e"].has_default
    )  # bare Optional: server injects null
    seed = inputs["seed"]
    assert (seed.required, seed.nullable, seed.default, seed.has_default) == (
        False,
        False,
        None,
        True,
    )


def test_input_errors_are_load_errors(load):
    src = model("""
class Runner:
    def run(self, x: int = Input(default=1, ge=3)) -> str:
        return ''
""")
    with pytest.raises(LoadError, match=r"^invalid default for x: int: must be at minimum 3$"):
        load(src)


def test_accept_on_non_path_is_a_load_error(load):
    src = model("""
class Runner:
    def run(self, x: str = Input(accept='image/*')) -> str:
        return ''
""")
    with pytest.raises(
        LoadError, match=r"^accept is only valid on Path or File inputs \(parameter 'x'\)$"
    ):
        load(src)


def test_unsupported_input_type(load):
    src = model("""
class Runner:
    def run(self, x: tuple) -> str:
        return ''
""")
    with pytest.raises(LoadError, match=r"^invalid input field x: unsupported Cog type tuple$"):
        load(src)


def test_coder_defined_in_module_is_registered(load):
    src = model("""
from cog.coder import Coder
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
class PointCoder(Coder):
    @staticmethod
    def factory(tpe):
        return PointCoder() if tpe is Point else None
    def encode(self, p):
        return {'x': p.x, 'y': p.y}
    def decode(self, d):
        return Point(d['x'], d['y'])
class Runner:
    def run(self, p: Point) -> Point:
        return p
""")
    runner = load(src)
    field = runner.inputs["p"]
    assert field.type.kind == "custom"
    assert field.type.coder.decode({"x": 1, "y": 2}).y == 2


# --- outputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ("Optional[str]", r"^output must not be Optional$"),
        ("str | None", r"^output must not be Optional$"),
        ("str | int", r"^output must not be a Union$"),
        ("Iterator[Optional[str]]", r"^iterator element type must not be Optional or List$"),
        ("Iterator[list[str]]", r"^iterator element type must not be Optional or List$"),
        ("cog.ConcatenateIterator[int]", r"^ConcatenateIterator must have str element$"),
        ("cog.AsyncConcatenateIterator[int]", r"^AsyncConcatenateIterator must have str element$"),
    ],
)
def test_rejected_outputs(load, annotation, message):
    with pytest.raises(LoadError, match=message):
        load(model(f"class Runner:\n    def run(self) -> {annotation}:\n        return ''\n"))


def test_any_output_warns(load):
    with pytest.warns(UserWarning, match="use of Any as output type is error-prone"):
        load(model("class Runner:\n    def run(self) -> Any:\n        return ''\n"))


def test_generator_kinds(load):
    src = model("""
class Gen:
    def run(self) -> Iterator[str]:
        yield 'a'
class AsyncGen:
    async def run(self) -> AsyncIterator[str]:
        yield 'a'
class Coro:
    async def run(self) -> cog.ConcatenateIterator[str]:
        return 'a'
class Sync:
    def run(self) -> str:
        return 'a'
""")
    gen = load(src, "predict.py:Gen")
    assert (gen.is_generator, gen.is_async, gen.is_async_generator) == (True, False, False)
    agen = load(src, "predict.py:AsyncGen")
    assert (agen.is_generator, agen.is_async, agen.is_async_generator) == (False, True, True)
    coro = load(src, "predict.py:Coro")
    assert (coro.is_generator, coro.is_async, coro.is_async_generator) == (False, True, False)
    sync = load(src, "predict.py:Sync")
    assert (sync.is_generator, sync.is_async, sync.is_async_generator) == (False, False, False)


# --- decorators --------------------------------------------------------------------------


def test_streaming_and_concurrency_markers(load):
    src = model("""
class Plain:
    def run(self) -> str:
        return ''
class Streams:
    @cog.streaming
    def run(self) -> str:
        return ''
class Called:
    @cog.streaming()
    @cog.concurrent(max=4)
    async def run(self) -> str:
        return ''
@cog.concurrent
def fn() -> str:
    return ''
""")
    plain = load(src, "predict.py:Plain")
    assert (plain.streaming, plain.concurrency_max) == (False, None)
    assert load(src, "predict.py:Streams").streaming is True
    called = load(src, "predict.py:Called")
    assert (called.streaming, called.concurrency_max) == (True, 4)
    assert load(src, "predict.py:fn").concurrency_max == 1


# --- setup -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("def setup(self, *args)", r"^setup\(\) must not have \*args$"),
        ("def setup(self, **kwargs)", r"^setup\(\) must not have \*\*kwargs$"),
        ("def setup(self, *, weights=None)", r"^setup\(\) must not have keyword-only args$"),
        ("def setup(self, model)", r"^unexpected setup\(\) arguments: model$"),
        ("def setup(self, weights, extra=1)", r"^unexpected setup\(\) arguments: extra$"),
        ("def setup(self) -> int", r"^setup\(\) must return None$"),
        ("def setup(this)", r"^setup\(\) must have 'self' as first argument$"),
    ],
)
def test_setup_signature_rules(load, signature, message):
    with pytest.raises(LoadError, match=message):
        load(
            model(
                f"class Runner:\n    {signature}:\n        pass\n    def run(self) -> str:\n        return ''\n"
            )
        )


def test_setup_return_none_annotation_accepted_also_as_string(load):
    src = "from __future__ import annotations\n" + model(
        "class Runner:\n    def setup(self) -> None:\n        self.ok = True\n    def run(self) -> str:\n        return ''\n"
    )
    runner = load(src)
    assert runner.has_setup and not runner.setup_takes_weights
    runner.setup()
    assert runner.instance.ok


def test_async_setup_needs_async_run(load):
    src = model("""
class Runner:
    async def setup(self) -> None:
        pass
    def run(self) -> str:
        return ''
""")
    with pytest.raises(
        LoadError,
        match=r"^Invalid predictor: to use an async setup method you must use an async predict method$",
    ):
        load(src)


def test_async_setup_runs_on_the_callers_loop(load):
    src = model("""
import asyncio
class Runner:
    async def setup(self) -> None:
        self.loop = asyncio.get_running_loop()
    async def run(self) -> bool:
        return asyncio.get_running_loop() is self.loop
""")
    runner = load(src)
    assert runner.setup_is_async and runner.is_async

    async def main():
        await runner.setup()
        return await runner.method()

    assert asyncio.run(main()) is True


def test_base_runner_setup_is_not_a_setup(load):
    runner = load(
        model("class Runner(BaseRunner):\n    def run(self) -> str:\n        return ''\n")
    )
    assert not runner.has_setup
    assert runner.setup() is None


WEIGHTS_MODEL = model("""
from cog import File
class PathWeights:
    def setup(self, weights: Optional[Path] = None) -> None:
        self.weights = weights
    def run(self) -> str:
        return ''
class FileWeights:
    def setup(self, weights: File) -> None:
        self.weights = weights
    def run(self) -> str:
        return ''
class StrWeights:
    def setup(self, weights: str) -> None:
        self.weights = weights
    def run(self) -> str:
        return ''
class Untyped:
    def setup(self, weights=None) -> None:
        self.weights = weights
    def run(self) -> str:
        return ''
class IntWeights:
    def setup(self, weights: int) -> None:
        self.weights = weights
    def run(self) -> str:
        return ''
""")


def test_weights_from_cog_weights_data_url(load, monkeypatch):
    monkeypatch.setenv("COG_WEIGHTS", "data:text/plain;base64,d2VpZ2h0cw==")
    runner = load(WEIGHTS_MODEL, "predict.py:PathWeights")
    assert runner.setup_takes_weights
    runner.setup()
    weights = runner.instance.weights
    assert isinstance(weights, cog.Path) and weights.read_text() == "weights"
    assert weights.name.endswith("file.txt")
    weights.unlink()

    runner = load(WEIGHTS_MODEL, "predict.py:FileWeights")
    runner.setup()
    assert runner.instance.weights.read() == b"weights"

    for name in ("StrWeights", "Untyped"):
        runner = load(WEIGHTS_MODEL, f"predict.py:{name}")
        runner.setup()
        assert runner.instance.weights == "data:text/plain;base64,d2VpZ2h0cw=="


def test_weights_from_local_weights_file(load, monkeypatch):
    monkeypatch.delenv("COG_WEIGHTS", raising=False)
    runner = load(WEIGHTS_MODEL, "predict.py:PathWeights")
    runner.setup()
    assert runner.instance.weights is None
    (runner.project_dir / "weights").write_text("local")
    monkeypatch.chdir(runner.project_dir)
    runner.setup()
    assert runner.instance.weights == cog.Path("weights")
    assert isinstance(runner.instance.weights, cog.Path)
    runner = load(WEIGHTS_MODEL, "predict.py:FileWeights")
    runner.setup()
    with runner.instance.weights as f:
        assert f.read() == b"local"


def test_weights_of_unsupported_type(load, monkeypatch):
    monkeypatch.setenv("COG_WEIGHTS", "https://example.invalid/w.bin")
    runner = load(WEIGHTS_MODEL, "predict.py:IntWeights")
    with pytest.raises(
        ValueError,
        match="has an argument 'weights' of type <class 'int'>, but only File, Path and str are supported",
    ):
        runner.setup()


def test_explicit_weights_argument_wins(load, monkeypatch):
    monkeypatch.setenv("COG_WEIGHTS", "ignored")
    runner = load(WEIGHTS_MODEL, "predict.py:StrWeights")
    runner.setup("given")
    assert runner.instance.weights == "given"


# --- healthcheck and training -------------------------------------------------------------


def test_healthcheck(load):
    src = model("""
class Sync:
    def healthcheck(self) -> bool:
        return False
    def run(self) -> str:
        return ''
class Async:
    async def healthcheck(self) -> bool:
        return True
    async def run(self) -> str:
        return ''
class Without:
    def run(self) -> str:
        return ''
""")
    sync = load(src, "predict.py:Sync")
    assert (sync.has_healthcheck, sync.healthcheck_is_async, sync.healthcheck()) == (
        True,
        False,
        False,
    )
    asy = load(src, "predict.py:Async")
    assert asy.healthcheck_is_async and inspect.iscoroutine(coro := asy.healthcheck())
    assert asyncio.run(coro) is True
    assert load(src, "predict.py:Without").healthcheck() is True


def test_train_mode(load):
    src = model("""
class Trainer:
    def setup(self) -> None:
        pass
    def train(self, steps: int = 3) -> Path:
        return Path('w')
def train(n: int) -> str:
    return str(n)
""")
    trainer = load(src, "train.py:Trainer", mode="train")
    assert (trainer.mode, trainer.method_name, list(trainer.inputs)) == (
        "train",
        "train",
        ["steps"],
    )
    fn = load(src, "train.py:train", mode="train")
    assert fn.method(n=2) == "2"
    assert load(src, "train.py", mode="train").name == "Trainer"


def test_train_mode_needs_train_method(load):
    src = model("class Trainer:\n    def run(self) -> str:\n        return ''\n")
    with pytest.raises(LoadError, match=r"^train method not found: Trainer$"):
        load(src, "train.py:Trainer", mode="train")


def test_project_dir_added_to_sys_path_once(load):
    load(model("class Runner:\n    def run(self) -> str:\n        return ''\n"))
    runner = load(model("class Runner:\n    def run(self) -> str:\n        return ''\n"))
    assert sys.path.count(str(runner.project_dir)) == 1
    assert os.path.isabs(str(runner.project_dir))
    assert isinstance(runner.project_dir, Path)


def test_method_closing_over_a_helper_is_not_taken_for_a_wrapper(load):
    src = model("""
def make():
    def helper(x):
        return x * 3
    class Runner:
        def run(self, x: int) -> int:
            return helper(x)
    return Runner
Runner = make()
""")
    runner = load(src)
    assert list(runner.inputs) == ["x"]
    assert runner.method(x=2) == 6
