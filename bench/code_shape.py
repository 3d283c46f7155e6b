"""The shape of the Python package: its longest functions and largest modules (lines), to keep hubs from growing.

A function's length is counted without its docstring (numpy-style docstrings are long by design).

    python bench/code_shape.py [--top 8] [--root python/mezan]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def functions(path: Path) -> list[tuple[int, str]]:
    """(lines without the docstring, qualified name) of every function and method of a module, nested ones on their
    own."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    documented = ast.get_docstring(child) is not None and len(child.body) > 1
                    start = child.body[1].lineno if documented else child.lineno
                    found.append((child.end_lineno - start + 1, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "python" / "mezan"))
    args = parser.parse_args()
    root = Path(args.root)
    modules = sorted(root.rglob("*.py"))
    sizes = sorted(((len(p.read_text().splitlines()), str(p.relative_to(root))) for p in modules), reverse=True)
    funcs = sorted(((n, f"{p.relative_to(root)}:{name}") for p in modules for n, name in functions(p)), reverse=True)
    print(f"{len(modules)} modules, {sum(n for n, _ in sizes):,} lines")
    print("largest modules:")
    for n, name in sizes[: args.top]:
        print(f"  {n:5d}  {name}")
    print("longest functions (without their docstrings):")
    for n, name in funcs[: args.top]:
        print(f"  {n:5d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
