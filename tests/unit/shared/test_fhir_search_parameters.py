"""Every search Ketalink makes of an EHR uses only search parameters FHIR R4 defines for the resource, so it works
on any conformant server: HAPI FHIR refuses an unknown one with 400 (HAPI-0524), and a lenient server ignores it and
answers more than was asked for (RiskAssessment ``code`` did both, issue 15). What R4 cannot search is filtered in
Python, next to the search, with a comment saying why.

The source is read, not run: every ``search``/``search_first_page`` call (and a wrapper that passes its resource type
and parameters through, as intake's ``_search``) in services/, shared/ and deploy/ must name its resource type and
parameters literally (a dict literal, or a name bound to one in the same function), and each parameter must be in
the R4 table below. Each service's searches and reads must also be declared in its ``EHR_NEEDS`` (the pages' in
``shared.fhir.capabilities.PAGE_NEEDS``), so the start-up check of the EHR's CapabilityStatement asks for them."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.documentation.ehr_reads import EHR_NEEDS as DOCUMENTATION_NEEDS
from services.intake.ehr_reads import EHR_NEEDS as INTAKE_NEEDS
from services.orders.course.ehr_reads import EHR_NEEDS as COURSE_NEEDS
from services.orders.ehr_reads import EHR_NEEDS as ORDERS_NEEDS
from shared.fhir.capabilities import PAGE_NEEDS, READ, RESULT_PARAMETERS, SEARCH, EhrNeed

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("services", "shared", "deploy")
SEARCH_METHODS = frozenset({"search", "search_first_page", "search_first_page_with_included"})

# FHIR R4 (4.0.1) SearchParameter registry, the resource types Ketalink searches: the search-parameters.json of the
# R4 definitions (as HAPI FHIR's hapi-fhir-validation-resources-r4 ships it). A new resource type goes here first.
R4_COMMON = frozenset({"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_content", "_text",
                       "_query", "_list", "_has", "_type", "_filter", "_format", "_pretty"})
R4_SEARCH_PARAMETERS: dict[str, frozenset[str]] = {
    "AllergyIntolerance": frozenset({
        "asserter", "category", "clinical-status", "code", "criticality", "date", "identifier", "last-date",
        "manifestation", "onset", "patient", "recorder", "route", "severity", "type", "verification-status"}),
    "Condition": frozenset({
        "abatement-age", "abatement-date", "abatement-string", "asserter", "body-site", "category",
        "clinical-status", "code", "encounter", "evidence", "evidence-detail", "identifier", "onset-age",
        "onset-date", "onset-info", "patient", "recorded-date", "severity", "stage", "subject",
        "verification-status"}),
    "MedicationStatement": frozenset({
        "category", "code", "context", "effective", "identifier", "medication", "part-of", "patient", "source",
        "status", "subject"}),
    "Observation": frozenset({
        "based-on", "category", "code", "code-value-concept", "code-value-date", "code-value-quantity",
        "code-value-string", "combo-code", "combo-code-value-concept", "combo-code-value-quantity",
        "combo-data-absent-reason", "combo-value-concept", "combo-value-quantity", "component-code",
        "component-code-value-concept", "component-code-value-quantity", "component-data-absent-reason",
        "component-value-concept", "component-value-quantity", "data-absent-reason", "date", "derived-from",
        "device", "encounter", "focus", "has-member", "identifier", "method", "part-of", "patient", "performer",
        "specimen", "status", "subject", "value-concept", "value-date", "value-quantity", "value-string"}),
    "Patient": frozenset({
        "active", "address", "address-city", "address-country", "address-postalcode", "address-state",
        "address-use", "birthdate", "death-date", "deceased", "email", "family", "gender", "general-practitioner",
        "given", "identifier", "language", "link", "name", "organization", "phone", "phonetic", "telecom"}),
    "Practitioner": frozenset({
        "active", "address", "address-city", "address-country", "address-postalcode", "address-state",
        "address-use", "communication", "email", "family", "gender", "given", "identifier", "name", "phone",
        "phonetic", "telecom"}),
    "PractitionerRole": frozenset({
        "active", "date", "email", "endpoint", "identifier", "location", "organization", "phone", "practitioner",
        "role", "service", "specialty", "telecom"}),
    "RiskAssessment": frozenset({
        "condition", "date", "encounter", "identifier", "method", "patient", "performer", "probability", "risk",
        "subject"}),
}

# Whose EHR_NEEDS must declare the searches and reads of a file (the course is part of the orders service).
NEEDS_BY_AREA: dict[str, tuple[EhrNeed, ...]] = {
    "services/intake/": INTAKE_NEEDS,
    "services/orders/": (*ORDERS_NEEDS, *COURSE_NEEDS),
    "services/documentation/": DOCUMENTATION_NEEDS,
    "shared/ui/": PAGE_NEEDS,
    "shared/roles.py": PAGE_NEEDS,
}


@dataclass(frozen=True)
class EhrCall:
    where: str  # path:line
    interaction: str  # READ or SEARCH
    resource_type: str
    parameters: tuple[str, ...]  # names without modifiers or chains; a _sort's parameters included


def calls_in(source: str, where: str) -> tuple[list[EhrCall], list[str]]:
    """The EHR reads and searches in ``source`` and the problems (calls this test cannot read)."""
    tree = ast.parse(source)
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    wrappers = {f.name for f in functions if _passes_a_search_through(f)}
    calls: list[EhrCall] = []
    problems: list[str] = []
    for scope in [tree, *functions]:
        dicts = _dict_names(scope)
        for node in _own_nodes(scope):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            line = f"{where}:{node.lineno}"
            if name == "read" and isinstance(node.func, ast.Attribute) and node.args and \
                    _is_resource_type(node.args[0]):  # a client's read, not an EHR need's ``read(...)``
                calls.append(EhrCall(line, READ, node.args[0].value, ()))  # type: ignore[attr-defined]
                continue
            if name not in SEARCH_METHODS | wrappers or len(node.args) < 2:
                continue
            resource_type, params = node.args[0], node.args[1]
            if isinstance(params, (ast.Tuple, ast.List)):
                continue  # an EHR need's declaration (shared.fhir.capabilities.search), not a search
            if isinstance(resource_type, ast.Name) and isinstance(scope, ast.FunctionDef) and \
                    scope.name in wrappers:
                continue  # the wrapper itself: its callers are checked
            if not _is_resource_type(resource_type):
                if isinstance(params, ast.Dict):
                    problems.append(f"{line}: name the searched resource type literally")
                continue  # e.g. a regular expression's search
            literal = params if isinstance(params, ast.Dict) else dicts.get(getattr(params, "id", ""))
            if literal is None:
                problems.append(f"{line}: write the search parameters as a dict literal (or a name bound to one)")
                continue
            names, unreadable = _parameter_names(literal)
            problems += [f"{line}: {text}" for text in unreadable]
            calls.append(EhrCall(line, SEARCH, resource_type.value, names))  # type: ignore[attr-defined]
    return sorted(calls, key=lambda c: int(c.where.rsplit(":", 1)[1])), problems


def non_r4_parameters(call: EhrCall) -> list[str]:
    if call.interaction != SEARCH:
        return []
    defined = R4_SEARCH_PARAMETERS.get(call.resource_type)
    if defined is None:
        return [f"{call.where}: add {call.resource_type}'s R4 search parameters to this test's table"]
    return [f"{call.where}: {call.resource_type} has no R4 search parameter {name!r}" for name in call.parameters
            if name not in defined | R4_COMMON | RESULT_PARAMETERS]


def undeclared(call: EhrCall, needs: tuple[EhrNeed, ...]) -> list[str]:
    wanted = {p for p in call.parameters if p not in RESULT_PARAMETERS}
    declared = [n for n in needs if n.resource_type == call.resource_type and n.interaction == call.interaction]
    if any(wanted <= set(n.search_parameters) for n in declared):
        return []
    return [f"{call.where}: declare {call.interaction} {call.resource_type} {sorted(wanted)} in the EHR needs"]


def _scanned_files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py"))


def _all_calls() -> tuple[list[EhrCall], list[str]]:
    calls: list[EhrCall] = []
    problems: list[str] = []
    for path in _scanned_files():
        found, unreadable = calls_in(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
        calls += found
        problems += unreadable
    return calls, problems


def test_every_search_uses_only_parameters_r4_defines_for_the_resource():
    calls, unreadable = _all_calls()
    searched = {c.resource_type for c in calls if c.interaction == SEARCH}
    assert {"Observation", "RiskAssessment", "Condition", "PractitionerRole"} <= searched  # the scan sees them
    assert unreadable == []
    assert [problem for call in calls for problem in non_r4_parameters(call)] == []


def test_every_read_and_search_of_a_service_is_declared_in_its_ehr_needs():
    calls, _ = _all_calls()
    problems = []
    for call in calls:
        needs = next((n for area, n in NEEDS_BY_AREA.items() if call.where.startswith(area)), None)
        if needs is not None:
            problems += undeclared(call, needs)
    assert problems == []


def test_the_ehr_needs_name_only_r4_search_parameters():
    every_need = {*INTAKE_NEEDS, *ORDERS_NEEDS, *COURSE_NEEDS, *DOCUMENTATION_NEEDS, *PAGE_NEEDS}
    problems = [problem for need in every_need for problem in non_r4_parameters(
        EhrCall(f"EHR_NEEDS {need.purpose}", need.interaction, need.resource_type, need.search_parameters))]
    assert problems == []


@pytest.mark.parametrize(("source", "expected"), [
    ('def f(ehr, p):\n    ehr.search_first_page("RiskAssessment", {"subject": p, "code": "x|y"})\n',
     ["t.py:2: RiskAssessment has no R4 search parameter 'code'"]),
    ('def f(ehr, p):\n    params = {"patient": p, "code:text": "w", "_sort": "-date"}\n'
     '    return ehr.search("Observation", params)\n', []),
    ('def f(ehr, p):\n    ehr.search("Observation", {"subject.name": p, "colour": "red"})\n',
     ["t.py:2: Observation has no R4 search parameter 'colour'"]),
    ('def f(ehr):\n    ehr.search("Basic", {"code": "x"})\n',
     ["t.py:2: add Basic's R4 search parameters to this test's table"]),
    ('class R:\n    def _search(self, resource_type, params):\n        return self._fhir.search(resource_type, params)\n'
     '    def g(self, p):\n        return self._search("Condition", {"patient": p, "status": "active"})\n',
     ["t.py:5: Condition has no R4 search parameter 'status'"]),
])
def test_the_scan_finds_a_parameter_r4_does_not_define(source: str, expected: list[str]):
    calls, unreadable = calls_in(source, "t.py")
    assert unreadable == [] and calls
    assert [problem for call in calls for problem in non_r4_parameters(call)] == expected


def test_the_scan_refuses_what_it_cannot_read_and_finds_undeclared_needs():
    source = ('def f(ehr, p, built):\n    ehr.search("Observation", built)\n'
              '    ehr.search_first_page("Observation", {"subject": p, "_sort": "-date"})\n'
              '    ehr.read("Patient", p)\n')
    calls, unreadable = calls_in(source, "t.py")
    assert unreadable == ["t.py:2: write the search parameters as a dict literal (or a name bound to one)"]
    assert [problem for call in calls for problem in undeclared(call, ORDERS_NEEDS)] == []
    assert [problem for call in calls for problem in undeclared(call, PAGE_NEEDS[2:3])] == [
        "t.py:3: declare search-type Observation ['date', 'subject'] in the EHR needs",
        "t.py:4: declare read Patient [] in the EHR needs"]


# --- reading the source ---------------------------------------------------------------------------------------------
def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_resource_type(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value[:1].isupper() \
        and node.value.isalpha()


def _passes_a_search_through(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that searches with its own arguments as the resource type (a wrapper such as intake's
    ``_search``): its callers name the resource type and parameters."""
    arguments = {a.arg for a in function.args.args}
    return any(isinstance(node, ast.Call) and _called_name(node) in SEARCH_METHODS and node.args
               and isinstance(node.args[0], ast.Name) and node.args[0].id in arguments
               for node in ast.walk(function))


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of ``scope`` outside the functions nested in it (those are scopes of their own); lambdas stay."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _dict_names(scope: ast.AST) -> dict[str, ast.Dict]:
    return {target.id: node.value for node in _own_nodes(scope)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            for target in node.targets if isinstance(target, ast.Name)}


def _parameter_names(literal: ast.Dict) -> tuple[tuple[str, ...], list[str]]:
    names: list[str] = []
    unreadable: list[str] = []
    for key, value in zip(literal.keys, literal.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            unreadable.append("name each search parameter with a string literal")
            continue
        names.append(key.value.split(":")[0].split(".")[0])
        if key.value == "_sort":
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                names += [part.strip().lstrip("-") for part in value.value.split(",") if part.strip()]
            else:
                unreadable.append("write _sort literally")
    return tuple(names), unreadable
