"""One shape for every service (issue 14): the README's role table is the contract, and this test holds the code to
it. Every service (and the course inside orders) has each file the table names and no module it does not; no service
imports another; the course only reads orders; no module passes 400 lines; no view is left untyped.

The checks are functions of a directory tree so the tests at the end can prove each one fails on a bad tree."""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
TOP_SERVICES = ("intake", "orders", "documentation")
COURSE = "orders/course"
ENTRY_POINTS = frozenset({"__main__.py", "wsgi.py", "worker.py"})
ALWAYS_ALLOWED = frozenset({"__init__.py", "templates", "static", "README.md", "__pycache__"})
MAX_MODULE_LINES = 400
# What the course may import from the orders service: its values and the reads of its store.
COURSE_MAY_READ_FROM_ORDERS = ("services.orders.domain", "services.orders.repository")
# Orders' store methods that change it; the course calls none of them.
ORDERS_STORE_WRITES = re.compile(r"^(save|insert|update|delete|add|create|put)_")


# A row whose role ends "(<service> only)" names a package one service has and the others do not.
ONE_SERVICE_ROLE = re.compile(r"\((\w+) only\)$")


def _table_rows(readme: Path) -> list[list[str]]:
    text = readme.read_text()
    section = text[text.index("### One shape"):]
    section = section[:section.index("\n#", 1)]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in section.splitlines()]
    return [cells for cells in rows if len(cells) == 3 and cells[1].startswith("`")]


def role_files(readme: Path = ROOT / "README.md") -> tuple[str, ...]:
    """The file column of the README's role table (``name.py``, ``name/``), entry points included; not the rows
    of one service's own package."""
    files: list[str] = []
    for cells in _table_rows(readme):
        if not ONE_SERVICE_ROLE.search(cells[0]):
            files += re.findall(r"`([^`]+)`", cells[1])
    return tuple(files)


def one_service_packages(readme: Path = ROOT / "README.md") -> dict[str, frozenset[str]]:
    """service → the packages only it has (rows ``role (<service> only)``), as directory names."""
    packages: dict[str, set[str]] = {}
    for cells in _table_rows(readme):
        match = ONE_SERVICE_ROLE.search(cells[0])
        if match:
            packages.setdefault(match.group(1), set()).update(
                name.rstrip("/") for name in re.findall(r"`([^`]+)`", cells[1]))
    return {service: frozenset(names) for service, names in packages.items()}


def _has_role(service_dir: Path, name: str) -> bool:
    if name.endswith("/"):
        return (service_dir / name / "__init__.py").is_file()
    return (service_dir / name).is_file() or (service_dir / name.removesuffix(".py") / "__init__.py").is_file()


def shape_problems(service_dir: Path, roles: tuple[str, ...], *, runs_alone: bool,
                   sub_packages: frozenset[str] = frozenset()) -> list[str]:
    """What is missing from ``service_dir`` and what it holds that the table does not name."""
    wanted = [r for r in roles if runs_alone or r not in ENTRY_POINTS]
    problems = [f"missing {name}" for name in wanted if not _has_role(service_dir, name)]
    allowed = {r.removesuffix("/").removesuffix(".py") for r in wanted} | {r for r in wanted}
    for entry in sorted(service_dir.iterdir()):
        if entry.name in ALWAYS_ALLOWED or entry.name in sub_packages:
            continue
        stem = entry.name.removesuffix(".py") if entry.is_file() else entry.name
        if entry.name not in allowed and stem not in allowed:
            problems.append(f"not in the role table: {entry.name}")
    return problems


def _modules(directory: Path) -> Iterator[Path]:
    yield from (p for p in sorted(directory.rglob("*.py")) if "__pycache__" not in p.parts)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative imports resolved."""
    package = _module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # ``from services.orders import repository`` names the module it imports
                yield node.lineno, f"{base}.{alias.name}"


def boundary_problems(root: Path) -> list[str]:
    """Imports that cross a service boundary: one service into another, orders into its course outside
    ``bootstrap.py``, the course into orders beyond its domain and the reads of its repository."""
    problems = []
    for path in _modules(root / "services"):
        relative = path.relative_to(root).as_posix()
        parts = path.relative_to(root / "services").parts
        if len(parts) < 2:
            continue
        service = parts[0]
        in_course = service == "orders" and parts[1] == "course"
        for line, module in _imports(path, root):
            if not module.startswith("services."):
                continue
            target = module.split(".")[1]
            if target != service:
                problems.append(f"{relative}:{line} imports another service: {module}")
            elif in_course and not module.startswith("services.orders.course") and \
                    not module.startswith(COURSE_MAY_READ_FROM_ORDERS):
                problems.append(f"{relative}:{line} the course may only read orders: {module}")
            elif service == "orders" and not in_course and module.startswith("services.orders.course") and \
                    relative != "services/orders/bootstrap.py":
                problems.append(f"{relative}:{line} orders depends on its course outside bootstrap: {module}")
        if in_course:
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and ORDERS_STORE_WRITES.match(node.attr) and \
                        "order" in node.attr:
                    problems.append(f"{relative}:{node.lineno} the course writes orders: .{node.attr}")
    return problems


def size_and_typing_problems(directories: list[Path]) -> list[str]:
    problems = []
    for directory in directories:
        for path in _modules(directory):
            text = path.read_text()
            lines = text.count("\n") + (0 if text.endswith("\n") else 1)
            if lines > MAX_MODULE_LINES:
                problems.append(f"{path.relative_to(directory.parent).as_posix()}: {lines} lines")
            if "type: ignore[no-untyped-def]" in text:
                problems.append(f"{path.relative_to(directory.parent).as_posix()}: untyped view or function")
    return problems


# --- the project ---------------------------------------------------------------------------------------------------
def test_the_readme_table_names_every_role() -> None:
    roles = role_files()
    assert {"domain/", "translators/", "commands.py", "handlers.py", "repository.py", "ehr_reads.py", "messages.py",
            "presenters.py", "access.py", "api.py", "answers.py", "ui/", "bootstrap.py"} | ENTRY_POINTS == set(roles)


@pytest.mark.parametrize("service", TOP_SERVICES)
def test_every_service_has_the_tables_files_and_no_other(service: str) -> None:
    assert shape_problems(SERVICES / service, role_files(), runs_alone=True,
                          sub_packages=(frozenset({"course"}) if service == "orders" else frozenset())
                          | one_service_packages().get(service, frozenset())) == []


def test_a_one_service_package_is_that_service_s_only() -> None:
    """``cds_hooks/`` is the orders service's (CDS Hooks for the EHR's order entry), not a role every service has;
    a package the table does not name is still refused (``test_a_missing_role_and_a_stray_module_are_found``)."""
    assert one_service_packages() == {"orders": frozenset({"cds_hooks"})}
    assert "cds_hooks/" not in role_files()


def test_the_course_has_the_tables_files_but_the_entry_points() -> None:
    assert shape_problems(SERVICES / COURSE, role_files(), runs_alone=False) == []


@pytest.mark.parametrize("service", (*TOP_SERVICES, COURSE))
def test_every_ui_package_has_its_pages_and_forms_modules(service: str) -> None:
    """The README's pages row: ``ui/pages.py`` (the blueprint and what the screens share), ``ui/forms.py``."""
    assert [name for name in ("pages.py", "forms.py") if not (SERVICES / service / "ui" / name).is_file()] == []


def test_no_service_imports_another_and_the_course_only_reads_orders() -> None:
    assert boundary_problems(ROOT) == []


def test_no_module_is_over_400_lines_or_untyped() -> None:
    assert size_and_typing_problems([ROOT / "services", ROOT / "shared"]) == []


TEST_NAME_SCHEMES = "domain and service tests test_<topic>.py, translator tests test_translate_<resource>.py"
OTHER_TEST_NAMES = re.compile(r"^test_(translators?_|tr_|\w+_tr_|\w+_fhir\.py$|\w+_(in|out)\.py$)")


def naming_problems(root: Path) -> list[str]:
    """Test files in a service's test folders named another way than the one scheme per kind (no area prefix
    either: the folder names the area)."""
    problems = []
    for kind in ("unit", "integration"):
        for area in ("intake", "orders", "documentation", "course", "orders/course"):
            folder = root / "tests" / kind / area
            prefix = f"test_{area.split('/')[-1]}_"
            for path in sorted(folder.glob("test_*.py")) if folder.is_dir() else []:
                if OTHER_TEST_NAMES.match(path.name) or path.name.startswith(prefix):
                    problems.append(f"{path.relative_to(root).as_posix()}: {TEST_NAME_SCHEMES}")
    return problems


def test_test_files_follow_one_naming_scheme_per_kind() -> None:
    assert naming_problems(ROOT) == []


# --- the checks can fail -------------------------------------------------------------------------------------------
def _write(root: Path, relative: str, text: str = '"""m"""\n') -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_missing_role_and_a_stray_module_are_found(tmp_path: Path) -> None:
    roles = ("domain/", "handlers.py", "ui/", "__main__.py")
    _write(tmp_path, "svc/domain/__init__.py")
    _write(tmp_path, "svc/handlers/__init__.py")  # a package may stand for a module
    _write(tmp_path, "svc/views.py")
    _write(tmp_path, "svc/__init__.py")
    assert shape_problems(tmp_path / "svc", roles, runs_alone=True) == [
        "missing ui/", "missing __main__.py", "not in the role table: views.py"]
    assert "missing __main__.py" not in shape_problems(tmp_path / "svc", roles, runs_alone=False)


def test_a_crossing_import_and_a_course_write_are_found(tmp_path: Path) -> None:
    _write(tmp_path, "services/intake/handlers.py", "from services.orders.domain import dose\n")
    _write(tmp_path, "services/orders/course/handlers.py",
           "from services.orders.domain import order\nfrom services.orders import messages\n"
           "from ..handlers import OrdersService\ndef f(repo):\n    repo.save_order(1)\n")
    _write(tmp_path, "services/orders/handlers.py", "from services.orders.course.domain import course\n")
    _write(tmp_path, "services/orders/bootstrap.py", "from services.orders.course.bootstrap import wire\n")
    found = boundary_problems(tmp_path)
    assert found == [
        "services/intake/handlers.py:1 imports another service: services.orders.domain.dose",
        "services/orders/course/handlers.py:2 the course may only read orders: services.orders.messages",
        "services/orders/course/handlers.py:3 the course may only read orders: services.orders.handlers.OrdersService",
        "services/orders/course/handlers.py:5 the course writes orders: .save_order",
        "services/orders/handlers.py:1 orders depends on its course outside bootstrap: "
        "services.orders.course.domain.course",
    ]


def test_a_test_named_another_way_is_found(tmp_path: Path) -> None:
    for name in ("test_orders_dose.py", "test_tr_patient.py", "test_consent_fhir.py", "test_patient_in.py",
                 "test_translators_out.py", "test_dose.py", "test_translate_patient.py"):
        _write(tmp_path, f"tests/unit/orders/{name}")
    found = [problem.split(":")[0] for problem in naming_problems(tmp_path)]
    assert found == [f"tests/unit/orders/{name}" for name in (
        "test_consent_fhir.py", "test_orders_dose.py", "test_patient_in.py", "test_tr_patient.py",
        "test_translators_out.py")]


def test_a_long_or_untyped_module_is_found(tmp_path: Path) -> None:
    _write(tmp_path, "pkg/long.py", "x = 1\n" * (MAX_MODULE_LINES + 1))
    _write(tmp_path, "pkg/short.py", "def view():  # type: ignore[no-untyped-def]\n    pass\n")
    assert size_and_typing_problems([tmp_path / "pkg"]) == [
        f"pkg/long.py: {MAX_MODULE_LINES + 1} lines", "pkg/short.py: untyped view or function"]
