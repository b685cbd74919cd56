"""Every module of agentsim is a library module: importing it does no work (no thread, no process, no output), and
every public name it defines is in its `__all__`. Examples belong in the notebooks' non-exported cells."""
import ast, importlib, inspect, json, subprocess, sys
from pathlib import Path
import pytest

PACKAGE = Path(__file__).resolve().parent.parent/'agentsim'
MODULES = sorted(f'agentsim.{p.stem}' for p in PACKAGE.glob('*.py') if not p.stem.startswith('_'))

# Imports every module in a fresh interpreter, one after the other, and reports what each import started or printed.
IMPORT_ALL = r'''
import contextlib, io, json, os, sys, threading
def children():
    found = set()
    for task in os.listdir('/proc/self/task'):
        try: found |= set(open(f'/proc/self/task/{task}/children').read().split())
        except OSError: pass
    return found
report = {}
for name in sys.argv[1:]:
    threads, processes, output = set(threading.enumerate()), children(), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output): __import__(name)
    report[name] = {'threads': sorted(t.name for t in set(threading.enumerate()) - threads),
                    'processes': sorted(children() - processes), 'printed': output.getvalue()}
print(json.dumps(report))
'''


@pytest.fixture(scope='module')
def imports() -> dict:
    result = subprocess.run([sys.executable, '-c', IMPORT_ALL, *MODULES], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stderr == '', f'importing printed to stderr outside Python: {result.stderr}'
    return json.loads(result.stdout)


def _is_patch(decorator: ast.expr) -> bool:
    "Whether a decorator is fastcore's `@patch` (or `@patch(...)`), which adds a method to a class defined elsewhere."
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == 'patch' or isinstance(target, ast.Attribute) and target.attr == 'patch'


def _bound_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name): return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)): return [n for element in target.elts for n in _bound_names(element)]
    return []  # an attribute or a subscript binds no name of the module


def names_defined(path: Path) -> set[str]:
    """The names a module's own top-level statements bind: functions, classes and assignments (also inside top-level
    `if`/`try` blocks), never imports; methods added to a class with `@patch` are the class's, not the module's."""
    defined = set()
    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not any(_is_patch(d) for d in node.decorator_list): defined.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets: defined.update(_bound_names(target))
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)): defined.update(_bound_names(node.target))
            elif isinstance(node, (ast.For, ast.With)):
                defined.update(n for t in ([node.target] if isinstance(node, ast.For) else
                                           [i.optional_vars for i in node.items if i.optional_vars]) for n in _bound_names(t))
            for block in ('body', 'orelse', 'finalbody'):
                if isinstance(node, (ast.If, ast.Try, ast.For, ast.With)) and hasattr(node, block): visit(getattr(node, block))
            if isinstance(node, ast.Try):
                for handler in node.handlers: visit(handler.body)
    visit(ast.parse(path.read_text()).body)
    return {name for name in defined if not name.startswith('_')}


@pytest.mark.parametrize('name', MODULES)
def test_public_names_are_in_all(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, '__all__', None), list), f'{name} has no __all__'
    exported = set(module.__all__)
    assert not exported - set(vars(module)), f'{name}.__all__ names what it does not define: {exported - set(vars(module))}'
    defined = names_defined(Path(module.__file__))
    # also by introspection: functions and classes whose home is this module, not methods patched onto a class
    defined |= {n for n, v in vars(module).items() if not n.startswith('_') and (inspect.isfunction(v) or inspect.isclass(v))
                and v.__module__ == name and '.' not in v.__qualname__}
    assert not defined - exported, f'{name} defines public names outside its __all__: {sorted(defined - exported)}'


def example_statements(path: Path) -> list[str]:
    "Top-level expression statements other than docstrings: a value shown in a notebook, or a call run on import."
    tree = ast.parse(path.read_text())
    return [f'line {node.lineno}: {ast.unparse(node)[:80]}' for node in tree.body
            if isinstance(node, ast.Expr) and not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))]


@pytest.mark.parametrize('name', MODULES)
def test_no_example_code_in_modules(name):
    assert example_statements(PACKAGE/f"{name.split('.')[1]}.py") == []


@pytest.mark.parametrize('name', MODULES)
def test_importing_does_no_work(imports, name):
    assert imports[name] == {'threads': [], 'processes': [], 'printed': ''}, f'importing {name}: {imports[name]}'


def test_the_rule_sees_what_it_should(tmp_path):
    "The name rule on a made-up module: its own definitions count, imports and patched methods do not."
    source = tmp_path/'m.py'
    source.write_text('from os import path\nimport json\nfrom fastcore.basics import patch\nA, (B, _c) = 1, (2, 3)\n'
                      'limit: int = 4\ndef f(): pass\nclass K: pass\n@patch\ndef method(self:K): pass\n'
                      'try: import yaml\nexcept ImportError: fallback = None\nif True:\n    def g(): pass\n')
    assert names_defined(source) == {'A', 'B', 'limit', 'f', 'K', 'fallback', 'g'}
    source.write_text('"docstring"\nx = 1\n{n: n * 2 for n in (1, 2)}\nprint(x)\n')
    assert example_statements(source) == ['line 3: {n: n * 2 for n in (1, 2)}', 'line 4: print(x)']
