"""The notebooks follow the template: no outputs, a parameters cell, a badge that matches the path.

nbval executes them (`pytest --nbval-lax notebooks`); these tests check their shape without a kernel.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# The repository's address has one setting, _config.yml's `repository`; everything else follows it.
_SETTING = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
URL, BRANCH = _SETTING["repository"]["url"].rstrip("/"), _SETTING["repository"]["branch"]
REPO = URL.removeprefix("https://github.com/")


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no NN_topic.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_committed_without_outputs(notebook):
    _, nb = notebook
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"cells {dirty} have outputs: strip them"


def test_title_and_colab_badge_match_the_file(notebook):
    path, nb = notebook
    first = nb.cells[0].source
    number = path.stem.split("_", 1)[0]
    assert re.match(rf"# {number} · \S", first), "the first line must be '# NN · Title'"
    url = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/notebooks/{path.name}"
    assert url in first, f"the Colab badge must point at {url}"
    assert "What you will learn" in first and "Time to run" in first


def test_colab_installs_labkit_from_the_notebooks_own_repository_and_branch(notebook):
    """In Colab the setup cell installs the labkit of the commit the badge opened, and only there."""
    _, nb = notebook
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    installs = [line.strip() for cell in code for line in cell.splitlines() if "pip install" in line]
    assert installs == [f'%pip install --quiet "labkit @ git+{URL}@{BRANCH}"'], installs
    setup = next(cell for cell in code if "pip install" in cell)
    assert 'if "google.colab" in sys.modules' in setup and setup.index("google.colab") < setup.index("pip install")


def test_the_repository_setting_is_the_only_address():
    """pyproject.toml, the launch buttons and Binder follow _config.yml's repository."""
    homepage = re.search(r'^Homepage = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)
    assert homepage and homepage[1] == URL, "pyproject.toml's Homepage must be _config.yml's repository url"
    buttons = _SETTING["launch_buttons"]
    assert buttons["colab_url"] == "https://colab.research.google.com" and buttons["binderhub_url"] == "https://mybinder.org"
    binder = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in binder if line and not line.startswith("#")] == [".[tf-cpu]"]
    stray = {}
    owner = REPO.split("/")[0]
    for path in [ROOT / "README.md", *(ROOT / "book").glob("*.md"), *NOTEBOOKS]:
        found = re.findall(r"github\.com/([\w-]+/[\w-]+)", path.read_text(encoding="utf-8"))
        wrong = sorted({repo for repo in found if repo.split("/")[0] == owner and repo != REPO})
        if wrong:
            stray[str(path.relative_to(ROOT))] = wrong
    assert not stray, f"addresses of the lab that are not {REPO}: {stray}"


def _duration(text: str) -> float:
    number, unit = text.split()
    return float(number) * (60 if unit == "min" else 1)


def test_time_to_run_states_the_budgets_of_benchmarks(notebook):
    """The page states its budgets, not a measured time that the next change makes stale."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from budgets import OFFLINE, SMOKE

    path, nb = notebook
    number = path.stem[:2]
    found = re.search(r"budgets smoke ([\d.]+ (?:s|min)) · offline ([\d.]+ (?:s|min))", nb.cells[0].source)
    assert found, "the Time to run line must say 'budgets smoke N s · offline N min'"
    assert (_duration(found[1]), _duration(found[2])) == (SMOKE[number], OFFLINE[number])
    assert "benchmarks/README.md" in nb.cells[0].source


def test_parameters_cell_holds_plain_literals(notebook):
    _, nb = notebook
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    names = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments only"
        names[node.targets[0].id] = ast.literal_eval(node.value)  # plain literals, so papermill can override
    assert names["PROFILE"] is None and isinstance(names["SEED"], int)


def test_setup_names_the_notebook(notebook):
    path, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'notebook="{path.stem}"' in code, "labkit.setup(...) must name its notebook, which names its results file"
    assert "labkit.record(" in code, "a notebook records its results"
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any(h.startswith("## Results") for h in headings)
    assert any("## Summary" in h for h in headings) and any("## Exercises" in h for h in headings)


def test_no_notebook_branches_on_the_profile_name(notebook):
    path, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    branching = re.findall(r"profile\.name\s*(?:==|!=|\]|in\b)|\[\s*lab\.profile\.name\s*\]", code)
    assert not branching, "what differs by profile is a profile field or a labkit helper, not an if on its name"


def test_labkit_is_imported_before_tensorflow(notebook):
    # labkit turns on TensorFlow's oneDNN kernels (5× faster ResNet50 training on AVX2-only CPUs),
    # which only works before TensorFlow is imported (labkit.config.fast_cpu_kernels)
    _, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    modules = re.findall(r"^(?:import|from)\s+([\w.]+)", code, flags=re.MULTILINE)
    backend = ("keras", "keras_tuner", "autokeras", "tensorflow")
    first = next((i for i, m in enumerate(modules) if m.split(".")[0] in backend), len(modules))
    assert "labkit" in modules[:first], f"import labkit before {modules[first] if first < len(modules) else 'keras'}"
