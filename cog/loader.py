"""Load a model reference (`file.py:Name`) into a `Runner`: the one description of a model.

Every load-time rule of spec §1.2-1.3 lives here and fails with `LoadError` carrying the
spec's message. Exceptions raised by the model's own code (at import, in `__init__`) are
left as they are, so their traceback points at the model.
"""

from __future__ import annotations

import collections.abc
import inspect
import os
import sys
import typing
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as _StdPath
from types import ModuleType, UnionType
from typing import Any, Literal

from cog.coder import Coder
from cog.decorators import CONCURRENT_ATTR, STREAMING_ATTR
from cog.exceptions import CogError
from cog.input import UNSET, InputField, describe_input
from cog.runner import BasePredictor, user_method_owner
from cog.types import AsyncConcatenateIterator, ConcatenateIterator, File, Path, URLPath

Mode = Literal["predict", "train"]


class LoadError(CogError):
    """The model reference cannot be loaded; the message says what rule was broken."""


@dataclass
class Runner:
    """A loaded model: its single instance, the method to call, and what it takes and returns."""

    ref: str
    name: str
    mode: str
    module: ModuleType
    instance: object | None
    method: Callable[..., Any]
    method_name: str
    inputs: dict[str, InputField]
    output_type: Any
    is_async: bool
    is_generator: bool
    is_async_generator: bool
    streaming: bool
    concurrency_max: int | None
    has_setup: bool
    setup_is_async: bool
    setup_takes_weights: bool
    has_healthcheck: bool
    healthcheck_is_async: bool
    project_dir: _StdPath
    weights_annotation: Any = field(default=None, repr=False)

    @property
    def is_function(self) -> bool:
        return self.instance is None

    def setup(self, weights: Any = None) -> Any:
        """Run the model's setup once; a coroutine when `setup_is_async`.

        When setup takes `weights` and none is given, the legacy rule applies: the
        `COG_WEIGHTS` URL, else `./weights` if it exists, else None, converted by the
        parameter's annotation (`Path` -> local `cog.Path`, `File` -> file object, `str`).
        """
        if not self.has_setup:
            return None
        instance: Any = self.instance
        setup = instance.setup
        if not self.setup_takes_weights:
            return setup()
        if weights is None:
            weights = self.weights_from_environment()
        elif isinstance(weights, str):
            weights = _convert_weights(self.name, self.weights_annotation, weights)
        return setup(weights)

    def weights_from_environment(self) -> Any:
        """The `weights` value setup gets: COG_WEIGHTS, else ./weights, else None."""
        url = os.environ.get("COG_WEIGHTS")
        if url:
            return _convert_weights(self.name, self.weights_annotation, url)
        local = self.project_dir / "weights"
        if local.exists():
            here = _StdPath.cwd().resolve() == self.project_dir.resolve()
            where = "weights" if here else str(local)
            return _convert_weights(self.name, self.weights_annotation, where, local=True)
        return None

    def healthcheck(self) -> Any:
        """The model's `healthcheck()` result (a coroutine when async); True when it has none."""
        if not self.has_healthcheck:
            return True
        instance: Any = self.instance
        return instance.healthcheck()


def load_runner(
    ref: str, project_dir: str | os.PathLike[str] = ".", *, mode: Mode = "predict"
) -> Runner:
    """Import `file.py[:Name]` (file relative to `project_dir`) and describe it as a `Runner`.

    Without `:Name` the loader prefers `Runner`, then `Predictor` (deprecated); in train
    mode `Trainer`, then `train`.
    """
    if mode not in ("predict", "train"):
        raise ValueError(f"mode must be 'predict' or 'train', got {mode!r}")
    project = _StdPath(project_dir).resolve()
    file_part, _, explicit = ref.partition(":")
    if not file_part.endswith(".py"):
        raise LoadError(f"invalid reference {ref!r}: expected the form file.py:Name")
    path = project / file_part
    if not path.is_file():
        raise LoadError(f"cannot load {ref!r}: {path} does not exist")
    module = _import_file(path, project)
    name = explicit or _default_name(module, path.name, mode)
    if not hasattr(module, name):
        raise LoadError(f"cannot load {ref!r}: {path.name} defines no {name!r}")
    target = getattr(module, name)
    _register_coders(module)
    if inspect.isclass(target):
        return _load_class(ref, name, mode, module, target, project)
    if inspect.isfunction(target) or inspect.isfunction(_unwrap(target)):
        return _load_function(ref, name, mode, module, target, project)
    raise LoadError(f"invalid predictor {ref!r}: {name} is neither a class nor a function")


@contextmanager
def _bare_argv() -> Iterator[None]:
    """Model code that runs argparse at import must not see the server's flags."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def _import_file(path: _StdPath, project: _StdPath) -> ModuleType:
    import importlib.util

    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    module_name = path.stem
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot load {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered under its name so pickle and `typing.get_type_hints` can find it.
    sys.modules[module_name] = module
    try:
        with _bare_argv():
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _register_coders(module: ModuleType) -> None:
    """Coder classes defined or imported in the model's module are registered."""

    def is_coder(obj: object) -> bool:
        return inspect.isclass(obj) and obj is not Coder and issubclass(obj, Coder)

    for value in list(vars(module).values()):
        if is_coder(value):
            Coder.register(value)
        elif inspect.ismodule(value):
            for inner in list(vars(value).values()):
                if is_coder(inner):
                    Coder.register(inner)


def _default_name(module: ModuleType, filename: str, mode: Mode) -> str:
    if mode == "train":
        for candidate in ("Trainer", "train"):
            if hasattr(module, candidate):
                return candidate
        raise LoadError(f"{filename} defines neither Trainer nor train")
    runner = getattr(module, "Runner", None)
    valid_runner = False
    runner_error: LoadError | None = None
    if inspect.isclass(runner):
        try:
            _select_method(runner, "Runner", "predict", warn=False)
            valid_runner = True
        except LoadError as exc:
            runner_error = exc
    elif runner is not None:
        valid_runner = callable(runner)
    if valid_runner:
        if hasattr(module, "Predictor"):
            warnings.warn(
                "Both Runner and Predictor are defined; using Runner. "
                "Specify a class name explicitly if this is not intended.",
                UserWarning,
                stacklevel=4,
            )
        return "Runner"
    if hasattr(module, "Predictor"):
        warnings.warn(
            "Predictor is deprecated; use Runner instead", DeprecationWarning, stacklevel=4
        )
        return "Predictor"
    if runner_error is not None:
        raise runner_error
    raise LoadError(f"{filename} defines neither Runner nor Predictor")


def _select_method(cls: type, name: str, mode: Mode, *, warn: bool = True) -> str:
    """Which method of `cls` runs a prediction (walking the MRO up to the SDK bases)."""
    if mode == "train":
        if user_method_owner(cls, "train") is None:
            raise LoadError(f"train method not found: {name}")
        return "train"
    defines_run = user_method_owner(cls, "run") is not None
    defines_predict = user_method_owner(cls, "predict") is not None
    if defines_run and defines_predict:
        raise LoadError(f"{name} must define either run() or predict(), not both")
    if not defines_run and not defines_predict:
        raise LoadError(f"run or predict method not found: {name}")
    if warn and defines_predict:
        _warn_at(
            _unwrap(cls.predict),  # type: ignore[attr-defined]
            f"{name}.predict() is deprecated; use run() instead",
            DeprecationWarning,
        )
    return "run" if defines_run else "predict"


def _warn_at(obj: Any, message: str, category: type[Warning]) -> None:
    """Warn at the user's definition of `obj` (its file and line), which is what the notice
    is about, rather than at a line inside the runtime that loaded it."""
    code = getattr(obj, "__code__", None)
    try:
        if code is not None:
            filename, lineno = code.co_filename, code.co_firstlineno
        else:
            filename, lineno = inspect.getsourcefile(obj) or "", inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        filename = ""
    if not filename:
        warnings.warn(message, category, stacklevel=3)
        return
    warnings.warn_explicit(message, category, filename, lineno)


def _load_class(
    ref: str, name: str, mode: Mode, module: ModuleType, cls: type, project: _StdPath
) -> Runner:
    method_name = _select_method(cls, name, mode)
    klass: Any = cls
    if any(base is BasePredictor for base in inspect.getmro(cls)[1:]):
        _warn_at(cls, "BasePredictor is deprecated; use BaseRunner instead", DeprecationWarning)
    raw_method = getattr(cls, method_name)
    method_fn = _unwrap(raw_method)
    _check_method(method_fn, method_name, is_method=True)

    has_setup = user_method_owner(cls, "setup") is not None
    setup_is_async = False
    takes_weights = False
    weights_annotation: Any = None
    if has_setup:
        setup_fn = _unwrap(klass.setup)
        takes_weights = _check_setup(setup_fn)
        setup_is_async = _is_kind(klass.setup, setup_fn, inspect.iscoroutinefunction)
        if takes_weights:
            weights_annotation = _annotations(setup_fn, "setup").get("weights")

    is_async_gen = _is_kind(raw_method, method_fn, inspect.isasyncgenfunction)
    is_async = is_async_gen or _is_kind(raw_method, method_fn, inspect.iscoroutinefunction)
    if setup_is_async and not is_async:
        raise LoadError(
            "Invalid predictor: to use an async setup method you must use an async predict method"
        )
    inputs, output_type = _describe(method_fn, method_name, is_method=True)
    instance = cls()
    has_healthcheck = callable(getattr(cls, "healthcheck", None))
    health_async = has_healthcheck and _is_kind(
        klass.healthcheck,
        _unwrap(klass.healthcheck),
        inspect.iscoroutinefunction,
    )
    return Runner(
        ref=ref,
        name=name,
        mode=mode,
        module=module,
        instance=instance,
        method=getattr(instance, method_name),
        method_name=method_name,
        inputs=inputs,
        output_type=output_type,
        is_async=is_async,
        is_generator=_is_kind(raw_method, method_fn, inspect.isgeneratorfunction),
        is_async_generator=is_async_gen,
        streaming=_marker(STREAMING_ATTR, raw_method, method_fn, cls) is True,
        concurrency_max=_marker(CONCURRENT_ATTR, raw_method, method_fn),
        has_setup=has_setup,
        setup_is_async=setup_is_async,
        setup_takes_weights=takes_weights,
        has_healthcheck=has_healthcheck,
        healthcheck_is_async=health_async,
        project_dir=project,
        weights_annotation=weights_annotation,
    )


def _load_function(
    ref: str, name: str, mode: Mode, module: ModuleType, fn: Callable[..., Any], project: _StdPath
) -> Runner:
    real = _unwrap(fn)
    _check_method(real, name, is_method=False)
    inputs, output_type = _describe(real, name, is_method=False)
    is_async_gen = _is_kind(fn, real, inspect.isasyncgenfunction)
    return Runner(
        ref=ref,
        name=name,
        mode=mode,
        module=module,
        instance=None,
        method=fn,
        method_name=name,
        inputs=inputs,
        output_type=output_type,
        is_async=is_async_gen or _is_kind(fn, real, inspect.iscoroutinefunction),
        is_generator=_is_kind(fn, real, inspect.isgeneratorfunction),
        is_async_generator=is_async_gen,
        streaming=_marker(STREAMING_ATTR, fn, real) is True,
        concurrency_max=_marker(CONCURRENT_ATTR, fn, real),
        has_setup=False,
        setup_is_async=False,
        setup_takes_weights=False,
        has_healthcheck=False,
        healthcheck_is_async=False,
        project_dir=project,
    )


def _unwrap(fn: Any) -> Any:
    """The function a decorator wraps: follow `__wrapped__`, then closures over one function.

    Only a `(*args, **kwargs)`-style function is taken for a wrapper, so a real method
    that merely closes over a helper function is not mistaken for one.
    """
    g = inspect.unwrap(fn) if callable(fn) else fn
    while getattr(g, "__closure__", None) and _looks_like_wrapper(g):
        inner = [c.cell_contents for c in g.__closure__ if inspect.isfunction(_cell(c))]
        if len(inner) > 1:
            raise LoadError(f"unable to inspect function decorator: {fn}")
        if not inner:
            return g
        g = inner[0]
    return g


def _looks_like_wrapper(fn: Any) -> bool:
    flags = getattr(getattr(fn, "__code__", None), "co_flags", 0)
    return bool(flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _is_kind(raw: Any, real: Any, test: Callable[[Any], bool]) -> bool:
    return test(raw) or test(real)


def _marker(attr: str, *holders: Any) -> Any:
    for holder in holders:
        value = getattr(holder, attr, None)
        if value is not None:
            return value
    return None


def _check_setup(fn: Any) -> bool:
    """Validate `setup(self[, weights])`; True when it takes `weights`."""
    if not inspect.isfunction(fn):
        raise LoadError("setup is not a function")
    spec = inspect.getfullargspec(fn)
    if spec.args[:1] != ["self"]:
        raise LoadError("setup() must have 'self' as first argument")
    if spec.varargs is not None:
        raise LoadError("setup() must not have *args")
    if spec.varkw is not None:
        raise LoadError("setup() must not have **kwargs")
    if spec.kwonlyargs:
        raise LoadError("setup() must not have keyword-only args")
    extra = [a for a in spec.args[1:] if a != "weights"]
    if extra:
        raise LoadError(f"unexpected setup() arguments: {', '.join(extra)}")
    returns = spec.annotations.get("return", None)
    if returns is not None and returns != "None" and returns is not type(None):
        raise LoadError("setup() must return None")
    return "weights" in spec.args


def _check_method(fn: Any, fn_name: str, *, is_method: bool) -> None:
    if not inspect.isfunction(fn):
        raise LoadError(f"{fn_name} is not a function")
    spec = inspect.getfullargspec(fn)
    if is_method and spec.args[:1] != ["self"]:
        raise LoadError(f"{fn_name}() must have 'self' as first argument")
    if spec.varargs is not None:
        raise LoadError(f"{fn_name}() must not have *args")
    if spec.varkw is not None:
        raise LoadError(f"{fn_name}() must not have **kwargs")
    if spec.kwonlyargs:
        raise LoadError(f"{fn_name}() must not have keyword-only args")
    returns = spec.annotations.get("return", None)
    if returns is None or returns == "None" or returns is type(None):
        raise LoadError(f"{fn_name}() must have a return type annotation")


def _annotations(fn: Any, fn_name: str) -> dict[str, Any]:
    """Evaluated annotations (string ones from `from __future__ import annotations` too)."""
    try:
        return dict(inspect.get_annotations(fn, eval_str=True))
    except Exception:
        pass
    raw = inspect.get_annotations(fn)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            try:
                value = eval(value, fn.__globals__)  # noqa: S307 - the model's own annotation
            except Exception as exc:
                what = "return type" if name == "return" else f"input: {name}"
                raise LoadError(
                    f"{fn_name}(): unable to resolve the type annotation of {what} ({value!r}): {exc}"
                ) from None
        out[name] = value
    return out


def _describe(fn: Any, fn_name: str, *, is_method: bool) -> tuple[dict[str, InputField], Any]:
    hints = _annotations(fn, fn_name)
    params = list(inspect.signature(fn).parameters.values())
    if is_method:
        params = params[1:]
    inputs: dict[str, InputField] = {}
    for order, param in enumerate(params):
        if param.name not in hints:
            raise LoadError(f"missing type annotation for input: {param.name}")
        default = UNSET if param.default is inspect.Parameter.empty else param.default
        try:
            inputs[param.name] = describe_input(order, param.name, hints[param.name], default)
        except (ValueError, TypeError) as exc:
            raise LoadError(str(exc)) from None
    output_type = hints["return"]
    _check_output(output_type)
    return inputs, output_type


_ITERATORS = (collections.abc.Iterator, collections.abc.AsyncIterator)
_GENERATORS = (collections.abc.Generator, collections.abc.AsyncGenerator)
_CONCAT = (ConcatenateIterator, AsyncConcatenateIterator)


def _check_output(tpe: Any) -> None:
    """Reject return annotations Cog cannot serve (spec §1.10)."""
    base = typing.get_args(tpe)[0] if typing.get_origin(tpe) is typing.Annotated else tpe
    origin = typing.get_origin(base)
    if origin in (typing.Union, UnionType):
        args = typing.get_args(base)
        if any(a is type(None) for a in args):
            raise LoadError("output must not be Optional")
        raise LoadError("output must not be a Union")
    if base in _CONCAT or origin in _CONCAT:
        args = typing.get_args(base)
        if len(args) != 1:
            raise LoadError("iterator type must have a type argument")
        _check_element(args[0])
        if args[0] is not str:
            raise LoadError(f"{getattr(origin or base, '__name__', base)} must have str element")
    elif origin in _ITERATORS or origin in _GENERATORS:
        args = typing.get_args(base)
        if not args:
            raise LoadError("iterator type must have a type argument")
        _check_element(args[0])
    elif base is Any:
        warnings.warn(
            "use of Any as output type is error-prone and highly discouraged",
            UserWarning,
            stacklevel=6,
        )


def _check_element(tpe: Any) -> None:
    origin = typing.get_origin(tpe)
    if origin in (typing.Union, UnionType, list):
        raise LoadError("iterator element type must not be Optional or List")


def _weights_kind(name: str, annotation: Any) -> str:
    """'path', 'file' or 'str': how setup's `weights` annotation wants its value."""
    if annotation is None or annotation is Any or annotation is inspect.Parameter.empty:
        return "str"
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        kinds = [_weights_kind(name, m) for m in members]
        for kind in ("path", "file", "str"):
            if kind in kinds:
                return kind
    if annotation is str:
        return "str"
    if isinstance(annotation, type) and issubclass(annotation, File):
        return "file"
    if annotation is os.PathLike or (
        isinstance(annotation, type) and issubclass(annotation, (os.PathLike, _StdPath))
    ):
        return "path"
    raise ValueError(
        f"{name}.setup() has an argument 'weights' of type {annotation}, "
        "but only File, Path and str are supported"
    )


def _convert_weights(name: str, annotation: Any, value: str, *, local: bool = False) -> Any:
    kind = _weights_kind(name, annotation)
    if kind == "str":
        return value
    if kind == "path":
        path = Path.validate(value)
        return path.convert() if isinstance(path, URLPath) else Path(path)
    if local or os.path.exists(value):
        return open(value, "rb")  # noqa: SIM115 - the model owns the file object
    return File.validate(value)
