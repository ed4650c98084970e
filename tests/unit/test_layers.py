"""The package layers (in the spirit of pipx's test_imports): every module of lib/ imports only
its own stage package and the layers below it, and no module imports itself round a loop.

    errors < core < ingest < store < boardfiles < history < rank < poll, view < export < cli

A module added to a new folder, or an import that reaches up a layer, fails here: move the code
down, or the import out (DEVELOPERS.md, "The tree")."""
import ast
import os

import pytest

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "lib", "slurm_scoreboard")
LAYERS = {"__init__": -1, "errors": -1, "core": 0, "ingest": 1, "store": 2, "boardfiles": 3,
          "history": 4, "rank": 5, "poll": 6, "view": 6, "export": 7, "cli": 8}
TOP_MODULES = 8         # at most this many modules at the top of lib/slurm_scoreboard


def modules():
    """(dotted name under slurm_scoreboard, path) of every module of the package."""
    found = []
    for folder, _, names in os.walk(LIB):
        for name in sorted(names):
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), LIB)[:-3]
                found.append((rel.replace(os.sep, "."), os.path.join(folder, name)))
    return found


def unit(dotted):
    """The layer unit a module belongs to: its stage package, or itself at the top."""
    head = dotted.split(".")[0]
    return "__init__" if head == "__init__" else head


def imports_of(dotted, path):
    """The dotted names (under slurm_scoreboard) a module imports, each at most once."""
    package = dotted.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("slurm_scoreboard"):
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                found.add(".".join(target))
            for alias in node.names:
                candidate = ".".join(target + [alias.name])
                if any(candidate == name or name.startswith(candidate + ".")
                       for name, _ in MODULES):
                    found.add(candidate)       # a module, or a whole stage package
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("slurm_scoreboard."):
                    found.add(alias.name.split(".", 1)[1])
    return found - {dotted}


MODULES = modules()


@pytest.mark.parametrize("dotted,path", MODULES, ids=[name for name, _ in MODULES])
def test_a_module_imports_only_its_own_stage_and_those_below(dotted, path):
    mine = unit(dotted)
    assert mine in LAYERS, f"{dotted}: a folder or top module the layers do not name"
    upward = []
    for target in sorted(imports_of(dotted, path)):
        theirs = unit(target)
        if theirs == mine or theirs not in LAYERS:
            continue
        if LAYERS[theirs] >= LAYERS[mine]:
            upward.append(f"{target} ({theirs}, layer {LAYERS[theirs]})")
    assert not upward, f"{dotted} (layer {LAYERS[mine]}) imports {', '.join(upward)}"


def test_no_module_imports_itself_round_a_loop():
    graph = {name: {t for t in imports_of(name, path) if t in dict(MODULES)}
             for name, path in MODULES}
    graph = {name: {t for t in targets if not name.startswith(t + ".")}
             for name, targets in graph.items()}

    def loop_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return trail + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
        return None
    loops = [loop for loop in map(loop_from, graph) if loop]
    assert not loops, "import loops: " + "; ".join(" -> ".join(loop) for loop in loops[:5])


def test_few_modules_at_the_top():
    top = [name for name in os.listdir(LIB) if name.endswith(".py")]
    assert len(top) <= TOP_MODULES, sorted(top)


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The check itself: a core module importing from view is reported."""
    path = tmp_path / "bad.py"
    path.write_text("from ..view import screens\nfrom ..boardfiles import SKILLS\n")
    found = imports_of("core.bad", str(path))
    assert {"view", "view.screens", "boardfiles"} <= found
    assert LAYERS[unit("view.screens")] > LAYERS[unit("core.bad")]


@pytest.mark.parametrize("line", ["from .. import rank", "from slurm_scoreboard import view",
                                  "from ..rank import rebuild", "import slurm_scoreboard.view.ansi"])
def test_importing_a_whole_stage_package_is_an_import_of_it(tmp_path, line):
    path = tmp_path / "bad.py"
    path.write_text(line + "\n")
    found = imports_of("core.bad", str(path))
    assert any(LAYERS[unit(target)] > LAYERS["core"] for target in found), found


TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "tools")


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(TOOLS) if n.startswith("sb_")))
def test_a_tool_is_thin(name):
    """tools/*.py: arguments, one call into lib, an exit code; what grows goes to lib/."""
    with open(os.path.join(TOOLS, name), encoding="utf-8") as handle:
        assert len(handle.readlines()) <= 200, f"tools/{name} is over 200 lines"
