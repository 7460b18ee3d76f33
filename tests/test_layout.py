"""labkit stays readable as it grows: small files, short functions, documented public functions."""

import ast
from pathlib import Path

import pytest

LABKIT = Path(__file__).resolve().parent.parent / "labkit"
SOURCES = sorted(LABKIT.rglob("*.py"))
MAX_FILE_LINES = 350
MAX_FUNCTION_LINES = 60  # code lines, docstring excluded


def test_there_are_sources():
    assert len(SOURCES) > 20


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(LABKIT)))
def test_no_file_is_too_long(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.name} has {lines} lines: split it by idea"


def functions(tree):
    """(qualified name, node, inside a private class) of every function and method."""
    found = []

    def walk(node, prefix, private):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child, private))
                walk(child, prefix + child.name + ".", True)  # nested helpers are private
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".", private or child.name.startswith("_"))

    walk(tree, "", False)
    return found


def code_lines(node) -> int:
    lines = node.end_lineno - node.lineno + 1
    doc = ast.get_docstring(node, clean=False)
    if doc is not None:
        first = node.body[0]
        lines -= first.end_lineno - first.lineno + 1
    return lines


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(LABKIT)))
def test_no_function_is_too_long(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = {name: code_lines(node) for name, node, _ in functions(tree) if code_lines(node) > MAX_FUNCTION_LINES}
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def is_public(name: str) -> bool:
    last = name.split(".")[-1]
    return not last.startswith("_") and not last.startswith("on_")  # on_*: Keras callback hooks


def takes_arguments(node) -> bool:
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
    return bool(names or args.vararg or args.kwarg)


def returns_something(node) -> bool:
    if isinstance(node.returns, ast.Constant) and node.returns.value is None:
        return False
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node))


def is_property(node) -> bool:
    return any(isinstance(d, ast.Name) and d.id in ("property", "cached_property") for d in node.decorator_list)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(LABKIT)))
def test_public_functions_say_what_they_take_and_return(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = []
    for name, node, private in functions(tree):
        if private or not is_public(name) or is_property(node) or path.name == "__main__.py":
            continue
        doc = ast.get_docstring(node) or ""
        if not doc:
            missing.append(f"{name}: no docstring")
            continue
        if takes_arguments(node) and "Args:" not in doc:
            missing.append(f"{name}: no Args:")
        if returns_something(node) and "Returns:" not in doc:
            missing.append(f"{name}: no Returns:")
    assert not missing, f"{path.name}: " + "; ".join(missing)
