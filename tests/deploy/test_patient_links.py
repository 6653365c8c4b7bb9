"""The patients' questionnaire links in a deployment (deploy/render/patient_links.py): off by default; when on, one
public host that reaches the orders service's patient pages (``/q/``) and the two stylesheets they load and nothing
else, rate limited at ingress-nginx, the orders service told the link address and the client address header (and
those load as its settings), the controller let in by a NetworkPolicy; the same from Helm and from kustomize, valid
under kubeconform."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, url_for

from deploy.render import layout, patient_links, validate
from services.orders.course.bootstrap import PRO_SETTINGS_PREFIX
from services.orders.course.domain.patient_reports import PatientReportSettings
from services.orders.course.ui import PATIENT_PAGE_ENDPOINTS, patient_blueprint
from services.orders.course.ui import blueprint as course_pages
from services.orders.ui import blueprint as orders_pages
from shared.config import load_settings
from shared.ui import ui_kit
from tests.deploy import k8s
from tests.deploy.support import Obj, render_overlay_with
from tests.deploy.test_helm_chart import normalise, prod_values, template

PATIENT_URL = "https://questionnaires.clinic.example.org"
PATIENT_HOST = "questionnaires.clinic.example.org"
SETTINGS = ("ORDERS_COURSE_PRO_PATIENT_BASE_URL", "ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER")
PUBLIC = {(path, kind) for path, kind in patient_links.PUBLIC_PATHS}


def _links_on(**changes: object) -> Obj:
    values = prod_values()
    values["patientLinks"] = {"enabled": True, "publicBaseUrl": PATIENT_URL}
    values.update(changes)
    return values


@pytest.fixture(scope="module")
def helm_ingress(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return template(helm, _links_on(gateway={"enabled": False}, ingress={"enabled": True}),
                    tmp_path_factory.mktemp("helm-patient-ingress"))


@pytest.fixture(scope="module")
def helm_gateway(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return template(helm, _links_on(), tmp_path_factory.mktemp("helm-patient-gateway"))


def _kustomize(kubectl: Path, tmp_path_factory: pytest.TempPathFactory, edge: str) -> list[Obj]:
    """The prod overlay as a site turns links on: the component and the link address in its orders-config."""
    orders = {"name": "orders-config", "behavior": "merge",
              "literals": [f"ORDERS_COURSE_PRO_PATIENT_BASE_URL={PATIENT_URL}"]}
    components = ["patient-links-gateway"] if edge == "gateway" else ["ingress", "patient-links-ingress"]
    return render_overlay_with(kubectl, tmp_path_factory.mktemp(f"patient-{edge}"), "prod", components=components,
                               generators=[orders])


def _public_paths(ingress: Obj) -> set[tuple[str, str]]:
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == PATIENT_HOST and ingress["spec"]["tls"][0]["hosts"] == [PATIENT_HOST]
    assert {path["backend"]["service"]["name"] for path in rule["http"]["paths"]} == {"orders-web"}
    return {(path["path"], path["pathType"]) for path in rule["http"]["paths"]}


def _orders_settings(objects: list[Obj], *, kustomize: bool = False) -> dict[str, str]:
    return k8s.config_map_by_prefix(objects, "orders-config") if kustomize else k8s.config_map(objects, "orders-config")


def test_off_by_default_nothing_public_and_no_settings(helm: Path, tmp_path: Path, rendered: dict[str, list[Obj]]):
    for objects, kustomize in ((template(helm, prod_values(), tmp_path), False), *((objects, True) for objects in rendered.values())):
        assert not [obj for obj in objects if obj["metadata"]["name"] == patient_links.NAME]
        assert not set(SETTINGS) & set(_orders_settings(objects, kustomize=kustomize))


def test_helm_ingress_publishes_the_patient_pages_only_rate_limited(helm_ingress: list[Obj]):
    public = k8s.named(helm_ingress, "Ingress", patient_links.NAME)
    assert _public_paths(public) == PUBLIC == {("/q/", "Prefix"), ("/ui-static/ketalink.css", "Exact"),
                                               ("/ui/orders-static/orders/patient.css", "Exact")}
    annotations = public["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/limit-rpm"] == "30"
    assert annotations["nginx.ingress.kubernetes.io/limit-connections"] == "5"
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/enable-access-log"] == "false"  # no token in the access log
    assert public["spec"]["tls"][0]["secretName"] == patient_links.TLS_SECRET
    # the staff Ingress is unchanged: the patient host is not one of its hosts
    staff = k8s.named(helm_ingress, "Ingress", "ketalink")
    assert PATIENT_HOST not in {rule["host"] for rule in staff["spec"]["rules"]}
    assert not k8s.of_kind(helm_ingress, "HTTPRoute")


def test_helm_tells_the_orders_service_and_only_it(helm_ingress: list[Obj]):
    orders = k8s.config_map(helm_ingress, "orders-config")
    assert {key: orders[key] for key in SETTINGS} == {"ORDERS_COURSE_PRO_PATIENT_BASE_URL": PATIENT_URL,
                                                      "ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER": "X-Forwarded-For"}
    settings = load_settings(PatientReportSettings, PRO_SETTINGS_PREFIX, orders)  # as the service loads them
    assert settings.patient_base_url == PATIENT_URL and settings.client_address_header == "X-Forwarded-For"
    for service in layout.SERVICES:
        if service != patient_links.SERVICE:
            assert not set(SETTINGS) & set(k8s.config_map(helm_ingress, f"{service}-config"))


def test_helm_values_change_the_limits_and_the_controller(helm: Path, tmp_path: Path):
    values = _links_on(gateway={"enabled": False}, ingress={"enabled": True})
    values["patientLinks"].update(requestsPerMinute=12, connections=2, ingress={
        "className": "nginx-public", "controllerNamespace": "ingress-public", "tlsSecret": "patients-tls",
        "annotations": {"nginx.ingress.kubernetes.io/limit-burst-multiplier": "2"}})
    objects = template(helm, values, tmp_path)
    public = k8s.named(objects, "Ingress", patient_links.NAME)
    annotations = public["metadata"]["annotations"]
    assert (annotations["nginx.ingress.kubernetes.io/limit-rpm"], annotations[
        "nginx.ingress.kubernetes.io/limit-connections"]) == ("12", "2")
    assert annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "2"
    assert public["spec"]["ingressClassName"] == "nginx-public"
    assert public["spec"]["tls"][0]["secretName"] == "patients-tls"
    policy = k8s.named(objects, "NetworkPolicy", patient_links.NAME)
    peer = policy["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "ingress-public"
    # the controller is let into the orders web pods only
    for workload in k8s.workloads(objects):
        let_in = k8s.matches(policy["spec"]["podSelector"], k8s.pod_labels(workload))
        assert let_in == (workload["metadata"]["name"] == "orders-web"), workload["metadata"]["name"]


@pytest.mark.parametrize(("change", "complaint"), [
    ({"publicBaseUrl": "http://questionnaires.clinic.example.org"}, "publicBaseUrl"),
    ({"publicBaseUrl": "https://clinic.example.org/q"}, "publicBaseUrl"),
    ({"requestsPerMinute": 0}, "requestsPerMinute"),
    ({"clientAddressHeader": "X Forwarded"}, "clientAddressHeader"),
])
def test_values_schema_refuses_bad_patient_link_values(helm: Path, tmp_path: Path, change: Obj, complaint: str):
    values = _links_on()
    values["patientLinks"].update(change)
    result = template(helm, values, tmp_path, check=False)
    assert result.returncode != 0 and complaint in result.stderr, result.stderr[-2000:]


def test_helm_gateway_route_has_the_patient_paths_only(helm_gateway: list[Obj]):
    route = k8s.named(helm_gateway, "HTTPRoute", patient_links.NAME)
    assert route["spec"]["hostnames"] == [PATIENT_HOST]
    (rule,) = route["spec"]["rules"]
    kinds = {"PathPrefix": "Prefix", "Exact": "Exact"}
    assert {(m["path"]["value"], kinds[m["path"]["type"]]) for m in rule["matches"]} == PUBLIC
    assert [ref["name"] for ref in rule["backendRefs"]] == ["orders-web"]
    assert route["spec"]["parentRefs"][0]["name"] == prod_values()["gateway"]["name"]
    assert not [obj for obj in k8s.of_kind(helm_gateway, "Ingress")]
    assert k8s.config_map(helm_gateway, "orders-config")["ORDERS_COURSE_PRO_PATIENT_BASE_URL"] == PATIENT_URL


@pytest.mark.parametrize("edge", ["ingress", "gateway"])
def test_kustomize_component_gives_what_the_chart_gives(edge: str, kubectl: Path, helm_ingress: list[Obj],
                                                        helm_gateway: list[Obj], kubeconform: Path,
                                                        schema_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    objects = _kustomize(kubectl, tmp_path_factory, edge)
    from_helm = normalise(helm_ingress if edge == "ingress" else helm_gateway, kustomize=False)
    from_kustomize = normalise(objects, kustomize=True)
    names = [key for key in from_helm if key[1] == patient_links.NAME]
    assert len(names) == (2 if edge == "ingress" else 1)
    for key in names:
        assert from_kustomize[key] == from_helm[key], key
    orders = _orders_settings(objects, kustomize=True)
    assert {key: orders[key] for key in SETTINGS} == {key: from_helm[("ConfigMap", "orders-config")]["data"][key]
                                                      for key in SETTINGS}
    assert validate.validate(objects, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir) == []


def test_helm_with_links_on_is_valid(helm_ingress: list[Obj], helm_gateway: list[Obj], kubeconform: Path,
                                     schema_dir: Path):
    for objects in (helm_ingress, helm_gateway):
        assert validate.validate(objects, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir) == []


def test_public_paths_are_what_the_patient_page_loads_and_nothing_else_of_the_pages():
    """The orders service's page blueprints (the staff pages, the course pages, the patient pages, the UI kit) on
    a bare app: the stylesheets the patient layout asks for are the public exact paths, and every page route under
    the public prefix is a patient page."""
    app = Flask("orders-routes")
    for blueprint in (ui_kit, orders_pages, course_pages, patient_blueprint):
        app.register_blueprint(blueprint)
    with app.test_request_context():
        stylesheets = {url_for("ui_kit.static", filename="ketalink.css"),
                       url_for("orders_ui.static", filename="orders/patient.css")}
    layout_text = (layout.ROOT / "services/orders/templates/orders/course/_patient_layout.html").read_text()
    assert layout_text.count('rel="stylesheet"') == len(stylesheets)
    assert stylesheets == set(patient_links.STYLESHEETS)
    under_prefix = {rule.endpoint for rule in app.url_map.iter_rules()
                    if rule.rule.startswith(patient_links.QUESTIONNAIRE_PREFIX)}
    assert under_prefix == set(PATIENT_PAGE_ENDPOINTS)
