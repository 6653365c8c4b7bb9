"""deploy/compose/docker-compose.yml, as compose-go (the loader of `docker compose`) resolves it: valid against the
Compose specification, the infrastructure the issue asks for, and each service container with the same command and
the same environment variable names as its Kubernetes container."""
from __future__ import annotations

import pytest

from deploy.render import layout, workloads
from tests.deploy import k8s
from tests.deploy.support import Obj

APP_CONTAINERS = [(service, component) for service in layout.SERVICES for component in (layout.WEB, layout.WORKER)]


def test_compose_has_kafka_the_ehr_postgres_and_every_service(compose_project: Obj):
    services = compose_project["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["ehr"]["image"].startswith("hapiproject/hapi:")
    assert services["postgres"]["image"].startswith("postgres:")
    assert set(services) == ({"kafka", "ehr", "postgres"} | {f"{s}-{c}" for s, c in APP_CONTAINERS}
                             | {f"{s}-{layout.MIGRATE}" for s in layout.SERVICES})
    for name, service in services.items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: pin {image}"


@pytest.mark.parametrize(("service", "component"), APP_CONTAINERS)
def test_service_containers_match_kubernetes(service: str, component: str, compose_project: Obj,
                                             rendered: dict[str, list[Obj]]):
    container = compose_project["services"][f"{service}-{component}"]
    assert container["image"] == layout.image(service)
    assert container["build"]["args"] == {"SERVICE": service, "VERSION": layout.VERSION}
    assert container["command"] == workloads.command(service, component)
    assert container["read_only"] is True and container["cap_drop"] == ["ALL"]
    assert container["user"] == f"{layout.RUN_AS_ID}:{layout.RUN_AS_ID}"
    assert "no-new-privileges:true" in container["security_opt"]
    objects = rendered["prod"]
    deployment = k8s.named(objects, "Deployment", f"{service}-{component}")
    (kubernetes_container,) = k8s.containers(deployment)
    assert set(container["environment"]) == set(k8s.container_environment(objects, kubernetes_container))
    assert int(container["environment"]["KAFKA_SESSION_TIMEOUT_MS"]) >= 6000
    assert container["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize("service", layout.SERVICES)
def test_migrations_run_first_as_the_schema_owner(service: str, compose_project: Obj):
    """As in Kubernetes: `python -m shared.migrate` as the migrator role, to completion, before web and worker start
    as the DML-only role (deploy/compose/postgres-init.sql, generated from deploy/render/database.py)."""
    services = compose_project["services"]
    migrate = services[f"{service}-{layout.MIGRATE}"]
    assert migrate["command"] == ["python", "-m", "shared.migrate"]
    assert migrate["environment"]["DATABASE_URL"].startswith(f"postgresql+psycopg://{service}_migrator:")
    assert migrate["read_only"] is True and migrate["cap_drop"] == ["ALL"]
    for component in (layout.WEB, layout.WORKER):
        container = services[f"{service}-{component}"]
        assert container["depends_on"][f"{service}-{layout.MIGRATE}"]["condition"] == "service_completed_successfully"
        assert container["environment"]["DATABASE_URL"].startswith(f"postgresql+psycopg://{service}:")
        assert container["environment"]["KETALINK_MIGRATE_ON_START"] == "false"
