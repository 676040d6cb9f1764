"""docker-compose.yml and the files it mounts: valid Compose, and divert's own rules.

The schema is the official Compose Specification JSON schema, vendored in
tests/unit/data/compose-spec.json (copied from the `check-jsonschema` 0.39.0 wheel's
builtin_schemas/vendor/, which vendors compose-spec/compose-spec; Apache-2.0, licence
beside it). `docker compose config` needs the compose plugin, which this machine lacks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DASHBOARDS = ROOT / "dashboards"
SCHEMA = Path(__file__).with_name("data") / "compose-spec.json"

ONE_SHOT = {"db-init", "migrate", "replay"}  # jobs that run to completion; the others run long
DIVERT_SERVICES = {"migrate", "worker", "replay"}
DB_INIT = "db-init"  # the only service that may log in as the database superuser
MIGRATIONS = ROOT / "consumers" / "db" / "migrations"
READER = "grafana_reader"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE", re.IGNORECASE)
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}; $$ escapes
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
WHOLE_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$")
URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^@\s]+)@")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            assert name not in values, f".env.example defines {name} twice"
            values[name] = value
    return values


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_is_valid_against_the_compose_spec(compose):
    errors = sorted(_validator().iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_really_rejects_a_broken_file(compose):
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["healthcheck"]["interval_seconds"] = 15
    broken["services"]["kafka"]["depends_on"] = "timescaledb"
    assert len(list(_validator().iter_errors(broken))) >= 2


def test_every_long_running_service_has_a_healthcheck(services):
    one_shot = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shot == ONE_SHOT
    for name, service in services.items():
        if name in ONE_SHOT:
            assert "healthcheck" not in service, name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name
        assert service.get("restart") == "unless-stopped", name


def test_depends_on_targets_exist_with_conditions_they_can_meet(services):
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for {target} to complete"
            else:
                assert condition == "service_started", condition
            if "profiles" in services[target]:
                assert services[target]["profiles"] == service.get("profiles"), (
                    f"{name} depends on {target}, which runs only in a profile")


def test_images_are_pinned_to_a_tag(services):
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "/" not in tag, f"{name}: {image} has no tag"
        assert "latest" not in tag, f"{name}: {image} is not pinned"
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.upper().startswith("FROM "):
            image = line.split()[1]
            assert ":" in image and "latest" not in image, line


def test_no_literal_secret(compose_text, services):
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert WHOLE_REFERENCE.match(str(value)), (
                    f"{name}: {key} must be a required ${{VAR:?}} from .env, not {value!r}")
    for match in URL_PASSWORD.finditer(compose_text):
        assert WHOLE_REFERENCE.match(match[1]), f"password in a URL: {match[0]}"
    for match in INTERPOLATION.finditer(compose_text):
        if SECRET_NAME.search(match[1]):
            assert match[2] in (":?", "?"), f"{match[0]}: a secret has no default"


def test_only_braced_interpolation(compose_text):
    bare = re.findall(r"(?<!\$)\$(?!\{|\$)[A-Za-z_]\w*", compose_text)
    assert not bare, f"write ${{VAR}}, not {bare}"


def test_env_example_defines_every_variable_and_no_secret(compose_text, env_example):
    used = {m[1] for m in INTERPOLATION.finditer(compose_text)}
    assert used - set(env_example) == set(), "add these to .env.example"
    assert set(env_example) - used == set(), ".env.example defines variables nothing uses"
    for name, value in env_example.items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example must leave {name} empty"


def test_gitignore_keeps_env_out():
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_divert_services_read_their_settings_from_the_environment(compose, services):
    for name in DIVERT_SERVICES:
        env = services[name]["environment"]
        assert env["DIVERT_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["DIVERT_DATABASE_URL"].startswith("postgresql://")
        assert "@timescaledb:5432/" in env["DIVERT_DATABASE_URL"]
        assert env["DIVERT_METRICS_PORT"] == "9464"
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["db", "migrate"]
    assert services["replay"]["command"][:2] == ["replay", "--city"]
    assert "--input" in services["replay"]["command"]
    assert services["replay"]["profiles"] == ["replay"]


def _references(value) -> set[str]:
    return {m[1] for m in INTERPOLATION.finditer(json.dumps(value))}


def test_only_db_init_uses_the_database_superuser(services, env_example):
    """The superuser's name and password reach db-init (and the server that defines them) only;
    divert's services log in as the application role, Grafana as the reader."""
    superuser = {"POSTGRES_USER", "POSTGRES_PASSWORD"}
    for name, service in services.items():
        if name not in (DB_INIT, "timescaledb"):
            used = _references(service) & superuser
            assert not used, f"{name} uses the database superuser's {used}"
    init_env = services[DB_INIT]["environment"]
    assert init_env["PGUSER"] == "${POSTGRES_USER:-postgres}"
    assert _references(init_env["PGPASSWORD"]) == {"POSTGRES_PASSWORD"}
    assert {"DIVERT_DB_USER", "DIVERT_DB_PASSWORD", "GRAFANA_DB_PASSWORD"} <= _references(init_env)
    assert "PGPASSWORD" not in json.dumps({k: v for k, v in services.items() if k != DB_INIT})
    for name in DIVERT_SERVICES:
        url = services[name]["environment"]["DIVERT_DATABASE_URL"]
        assert url.startswith("postgresql://${DIVERT_DB_USER:-divert}:${DIVERT_DB_PASSWORD:?"), (name, url)
    assert env_example["DIVERT_DB_USER"] and env_example["DIVERT_DB_USER"] != env_example["POSTGRES_USER"]
    assert env_example["POSTGRES_USER"] == "postgres"
    # every job that touches the database waits for db-init
    assert services["migrate"]["depends_on"][DB_INIT]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["grafana"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # no script in the server's first-start hook: roles come from db-init, on every start
    assert not any("docker-entrypoint-initdb.d" in v for v in services["timescaledb"].get("volumes", []))


def test_db_init_script_makes_the_application_role_and_the_reader(services):
    mounts = [v.split(":") for v in services[DB_INIT]["volumes"]]
    assert services[DB_INIT]["entrypoint"][-1] in [target for _, target, *_ in mounts]
    script = (ROOT / mounts[0][0]).read_text()
    for required in ("nosuperuser nocreatedb nocreaterole noreplication nobypassrls",
                     "revoke temporary on database", "connection limit",
                     "statement_timeout", "default_transaction_read_only", "search_path = reader",
                     "create schema if not exists reader authorization"):
        assert required in script, required
    for statement in re.findall(r"(?:create|alter) role[^;]*;", script, re.IGNORECASE):
        assert not re.search(r"(?<!no)(superuser|createrole|createdb|replication|bypassrls)\b",
                             statement, re.IGNORECASE), f"db-init gives a role power: {statement}"


def test_grafana_logs_in_as_the_reader_the_migration_restricts(services):
    env = services["grafana"]["environment"]
    assert env["DIVERT_DB_USER"] == READER
    assert _references(env["DIVERT_DB_PASSWORD"]) == {"GRAFANA_DB_PASSWORD"}
    least = (MIGRATIONS / "008_least_privilege.sql").read_text()
    assert f"'{READER}'" in least and "dead_letters" not in least.split("readable", 1)[1].split("];")[0]


def test_prometheus_cannot_be_stopped_or_changed_over_http(services):
    for name, service in services.items():
        command = json.dumps(service.get("command", "")) + json.dumps(service.get("entrypoint", ""))
        assert "--web.enable-lifecycle" not in command, f"{name}: /-/quit and /-/reload open to all"
        assert "--web.enable-admin-api" not in command, f"{name}: the TSDB admin API is open"
        assert "--web.enable-remote-write-receiver" not in command, name


def test_worker_metrics_listen_on_the_compose_network_only(services):
    worker = services["worker"]
    assert worker["environment"]["DIVERT_METRICS_HOST"] == "0.0.0.0"  # Prometheus scrapes it
    assert not worker.get("ports"), "the worker's /metrics is not published on the host"
    for name in DIVERT_SERVICES - {"worker"}:
        assert "DIVERT_METRICS_HOST" not in services[name]["environment"], name


def test_host_ports_bind_to_loopback(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_mounted_files_exist(services):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./dashboards") and Path(source).suffix:
                assert (ROOT / source).is_file(), f"{name} mounts missing {source}"
            elif source.startswith("./dashboards"):
                assert source == "./dashboards/rules" or (ROOT / source).is_dir(), source
    if any(s.get("build") for s in services.values()):
        assert (ROOT / "Dockerfile").is_file() and (ROOT / ".dockerignore").is_file()


def test_prometheus_scrapes_the_workers_metrics_port():
    config = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker = jobs["divert-worker"]
    targets = [f"{n}:{sd['port']}" for sd in worker.get("dns_sd_configs", []) for n in sd["names"]]
    targets += [t for sc in worker.get("static_configs", []) for t in sc["targets"]]
    assert targets == ["worker:9464"]
    am = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am == ["alertmanager:9093"]


def test_grafana_data_sources_are_provisioned_without_secrets():
    config = yaml.safe_load((DASHBOARDS / "provisioning/datasources/divert.yml").read_text())
    sources = {s["uid"]: s for s in config["datasources"]}
    db = sources["divert-db"]
    assert db["type"] == "grafana-postgresql-datasource"
    # $__timeGroup must expand to time_bucket: panels are tested with that expansion
    assert db["jsonData"]["timescaledb"] is True
    assert db["secureJsonData"]["password"] == "$DIVERT_DB_PASSWORD"
    assert sources["divert-prometheus"]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/divert.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/etc/divert/dashboards"
    for dashboard in DASHBOARDS.rglob("*.json"):
        text = dashboard.read_text()
        json.loads(text)
        for uid in re.findall(r'"uid":\s*"(divert-[a-z]+)"', text):
            assert uid in sources or uid == json.loads(text)["uid"], (dashboard, uid)


def test_alertmanager_config_keeps_secrets_in_files():
    text = (DASHBOARDS / "alertmanager.yml").read_text()
    config = yaml.safe_load(text)
    assert config["route"]["receiver"] in {r["name"] for r in config["receivers"]}
    active = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"(password|secret|token|api_key)\s*:", active, re.IGNORECASE)
    assert "auth_password_file" in text  # the commented e-mail example shows the way


def test_promtool_and_amtool_accept_the_configs(tmp_path):
    """Needs the Debian packages prometheus and prometheus-alertmanager (promtool, amtool)."""
    promtool, amtool = shutil.which("promtool"), shutil.which("amtool")
    assert promtool and amtool, "apt-get install prometheus prometheus-alertmanager"
    # the rule glob is absolute inside the container; check the config with it pointed here
    config = (DASHBOARDS / "prometheus.yml").read_text().replace(
        "/etc/prometheus/rules/", f"{DASHBOARDS}/rules/")
    (tmp_path / "prometheus.yml").write_text(config)
    for command in ([promtool, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
                    [amtool, "check-config", str(DASHBOARDS / "alertmanager.yml")]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
