"""Each compiled module and its pure twin expose the same public names as their .pyi."""

import ast
from pathlib import Path

import pytest

from cog._native.select import native

NATIVE = Path(__file__).resolve().parents[3] / "_native"


def stub_names(name: str) -> set[str]:
    tree = ast.parse((NATIVE / f"{name}.pyi").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("name", ["datauri", "npy", "slab"])
@pytest.mark.parametrize("which", ["compiled", "pure"])
def test_module_provides_its_stub(name, which):
    module = native(name, pure=which == "pure")
    missing = {n for n in stub_names(name) if not hasattr(module, n)}
    assert not missing, f"{module.__name__} lacks {sorted(missing)}"
