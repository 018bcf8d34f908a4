"""The Helm chart's specification: what an operator installing Burgernet can rely on.

Rendering is offline (helm-python binds Helm's Go SDK); no cluster is contacted. Run with
`scripts/check-deployment`.
"""

import copy
import pathlib
import re

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
CHART = REPOSITORY / "helm" / "burgernet"
VALUES = pathlib.Path(__file__).resolve().parent / "values"

# The chart's kubeVersion floor and the newest schemas kubernetes-validate 1.37.0 bundles.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
RELEASE = "burgernet"  # holds the chart name, so resources are burgernet-api, burgernet-worker...
NAMESPACE = "burgernet"
SECRET = "burgernet-secrets"
SECRETS_DIR = "/var/run/secrets/burgernet"
SENTINEL = "sentinel-3f9a7c-this-must-never-be-rendered"


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="session")
def chart():
    loaded = helm.Chart.load(CHART)
    yield loaded
    loaded.close()


def values_file(name):
    return yaml.safe_load((VALUES / f"{name}.yaml").read_text())


def with_overrides(base, overrides):
    """A deep copy of `base` with `overrides` merged in (dicts merged, everything else replaced)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = with_overrides(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def minimal(**overrides):
    return with_overrides(values_file("minimal"), overrides)


def production(**overrides):
    return with_overrides(values_file("production"), overrides)


def render_files(chart, values):
    """Template path -> rendered text, NOTES.txt included."""
    return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def render(chart, values):
    """Every rendered Kubernetes object, as dicts."""
    documents = []
    for path, text in render_files(chart, values).items():
        if path.endswith("NOTES.txt"):
            continue
        documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return documents


def find(documents, kind, name):
    matches = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def kinds(documents, kind):
    return [d for d in documents if d["kind"] == kind]


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def only_container(workload):
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(workload):
    """The container's `env` entries by name."""
    return {entry["name"]: entry for entry in only_container(workload).get("env", [])}


def environment_names(documents, workload):
    """Every variable the container gets: its own `env` plus the ConfigMaps it loads."""
    names = set(env_of(workload))
    for source in only_container(workload).get("envFrom", []):
        config_map = find(documents, "ConfigMap", source["configMapRef"]["name"])
        names.update(config_map["data"])
    return names


def config_value(documents, workload, variable):
    for source in only_container(workload).get("envFrom", []):
        data = find(documents, "ConfigMap", source["configMapRef"]["name"])["data"]
        if variable in data:
            return data[variable]
    raise AssertionError(f"{variable} is not in the ConfigMaps of {workload['metadata']['name']}")


def secret_file_items(workload):
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    return {item["key"]: item["path"] for item in volumes["secret-files"]["secret"]["items"]}


def workloads(documents):
    """Everything that runs a pod: both Deployments and the migration Job."""
    return [d for d in documents if d["kind"] in ("Deployment", "Job")]


def checksum(documents, deployment):
    return find(documents, "Deployment", deployment)["spec"]["template"]["metadata"]["annotations"][
        "checksum/config"
    ]


def seconds(duration):
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"expected a duration in seconds, got {duration!r}"
    return int(match.group(1))


def refusal(chart, values):
    """Render `values`, which must fail; returns the error text."""
    with pytest.raises(helm.HelmError) as failure:
        render_files(chart, values)
    return str(failure.value)


BOTH_VALUES_FILES = pytest.mark.parametrize("values_name", ["minimal", "production"])


# ---------------------------------------------------------------------------------------------
# Lint and Kubernetes schemas


@BOTH_VALUES_FILES
@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_lint_passes_strictly(values_name, kube_version):
    report = helm.lint(CHART, values_file(values_name), strict=True, kube_version=f"v{kube_version}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [] and report["errors"] == []


@BOTH_VALUES_FILES
@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(chart, values_name, kube_version):
    documents = render(chart, values_file(values_name))
    built_in = [d for d in documents if d["kind"] != "ServiceMonitor"]
    assert {d["kind"] for d in built_in} >= {"Deployment", "Job", "Service", "ConfigMap"}
    for document in built_in:
        kubernetes_validate.validate(document, kube_version, strict=True)


def test_service_monitors_have_the_structure_the_prometheus_operator_expects(chart):
    # ServiceMonitor is a CRD (monitoring.coreos.com/v1), absent from Kubernetes' own schemas: its
    # structure is checked here field by field instead.
    documents = render(chart, production())
    monitors = kinds(documents, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"burgernet-api", "burgernet-worker"}
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert set(monitor["metadata"]) <= {"name", "labels", "annotations"}
        spec = monitor["spec"]
        assert set(spec) == {"selector", "namespaceSelector", "endpoints"}
        assert set(spec["selector"]) == {"matchLabels"}
        assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        for endpoint in spec["endpoints"]:
            assert set(endpoint) == {"port", "path", "interval", "scrapeTimeout"}
            assert all(isinstance(value, str) for value in endpoint.values())
            assert re.fullmatch(r"\d+(ms|s|m|h)", endpoint["interval"])
            assert re.fullmatch(r"\d+(ms|s|m|h)", endpoint["scrapeTimeout"])


# ---------------------------------------------------------------------------------------------
# The schema


def test_defaults_alone_are_refused_naming_every_required_setting(chart):
    error = refusal(chart, {})
    for setting in [
        "/existingSecret",
        "/config/publicUrl",
        "/config/staffToken/issuer",
        "/config/staffToken/audience",
        "/config/sms/gatewayUrl",
        "/config/voice/gatewayUrl",
        "/config/apns/keyId",
        "/config/apns/teamId",
        "/config/apns/topic",
        "/config/media/s3/bucket",
    ]:
        assert setting in error


def test_minimal_values_are_accepted(chart):
    chart.validate_schema(values_file("minimal"))


def test_schema_refuses_a_word_where_a_number_belongs(chart):
    with pytest.raises(helm.HelmValuesError, match="/api/replicas"):
        chart.validate_schema(values_file("wrong-type"))


def test_schema_refuses_a_missing_existing_secret(chart):
    values = minimal()
    del values["existingSecret"]
    with pytest.raises(helm.HelmValuesError, match="existingSecret"):
        chart.validate_schema(values)


def test_schema_refuses_a_missing_public_url(chart):
    values = minimal()
    del values["config"]["publicUrl"]
    with pytest.raises(helm.HelmValuesError, match="publicUrl"):
        chart.validate_schema(values)


def test_schema_refuses_an_unknown_media_store(chart):
    with pytest.raises(helm.HelmValuesError, match="/config/media/store"):
        chart.validate_schema(minimal(config={"media": {"store": "gcs"}}))


@pytest.mark.parametrize(
    "typo",
    [
        {"api": {"replica": 3}},
        {"config": {"publicURL": "https://api.burgernet.example"}},
        {"config": {"media": {"s3": {"buckett": "burgernet-media"}}}},
        {"workers": {"shutdownGrace": 30}},
        {"ingres": {"enabled": True}},
    ],
)
def test_schema_refuses_misspelt_keys(chart, typo):
    with pytest.raises(helm.HelmValuesError, match="additional properties"):
        chart.validate_schema(minimal(**typo))


def test_schema_refuses_an_apns_key_id_that_is_not_ten_characters(chart):
    with pytest.raises(helm.HelmValuesError, match="/config/apns/keyId"):
        chart.validate_schema(minimal(config={"apns": {"keyId": "ABC"}}))


def test_schema_refuses_a_malformed_duration(chart):
    with pytest.raises(helm.HelmValuesError, match="/config/jobs/lease"):
        chart.validate_schema(minimal(config={"jobs": {"lease": "a minute"}}))


def test_schema_refuses_a_region_margin_without_a_unit(chart):
    chart.validate_schema(minimal(config={"alerts": {"regionMargin": "2500m"}}))
    with pytest.raises(helm.HelmValuesError, match="/config/alerts/regionMargin"):
        chart.validate_schema(minimal(config={"alerts": {"regionMargin": "5"}}))


# ---------------------------------------------------------------------------------------------
# The migration hook


def test_migration_job_runs_before_install_and_upgrade_and_is_kept_when_it_fails(chart):
    job = find(render(chart, minimal()), "Job", "burgernet-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert re.fullmatch(r"-?\d+", annotations["helm.sh/hook-weight"])
    # No hook-failed: a failed Job stays to be read until the next attempt replaces it.
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"


def test_migration_job_is_bounded_in_retries_and_time(chart):
    job = find(render(chart, minimal()), "Job", "burgernet-migrate")
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_migration_job_runs_migrate_as_the_schema_owner_and_grants_the_application_role(chart):
    documents = render(chart, minimal())
    job = find(documents, "Job", "burgernet-migrate")
    assert only_container(job)["args"] == ["migrate"]
    assert env_of(job)["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "migration-database-url",
    }
    assert env_of(job)["BURGERNET_DATABASE_APP_ROLE"]["value"] == "burgernet_app"
    # The API and the workers connect with other credentials: the application's role.
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        assert env_of(deployment)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
    single_role = find(render(chart, minimal(config={"database": {"appRole": ""}})), "Job", "burgernet-migrate")
    assert "BURGERNET_DATABASE_APP_ROLE" not in env_of(single_role)


def test_only_the_workers_get_the_dossier_checkpoint_key(chart):
    documents = render(chart, production())
    worker = find(documents, "Deployment", "burgernet-worker")
    assert env_of(worker)["BURGERNET_DOSSIER_CHECKPOINT_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET,
        "key": "dossier-checkpoint-key",
    }
    assert config_value(documents, worker, "BURGERNET_DOSSIER_CHECKPOINT_RETENTION") == "3650d"
    api = find(documents, "Deployment", "burgernet-api")
    assert "BURGERNET_DOSSIER_CHECKPOINT_KEY" not in environment_names(documents, api)


def all_keys(tree):
    """Every mapping key anywhere in a nested structure of dicts and lists."""
    if isinstance(tree, dict):
        return set(tree) | set().union(*(all_keys(value) for value in tree.values()))
    if isinstance(tree, list):
        return set().union(*(all_keys(item) for item in tree))
    return set()


def test_migration_job_references_nothing_the_chart_creates_after_it(chart):
    # A pre-install hook runs before the chart's ConfigMaps and ServiceAccount exist; only the
    # operator's Secret is there already.
    job = find(render(chart, minimal()), "Job", "burgernet-migrate")
    references = all_keys(pod_spec(job)) & {
        "serviceAccountName",
        "serviceAccount",
        "envFrom",
        "configMap",
        "configMapRef",
        "configMapKeyRef",
        "projected",
    }
    assert references == set()
    secrets = [e["valueFrom"]["secretKeyRef"]["name"] for e in env_of(job).values() if "valueFrom" in e]
    assert secrets == [SECRET]


def test_migrations_can_be_left_to_the_operator(chart):
    documents = render(chart, minimal(migrations={"enabled": False}))
    assert kinds(documents, "Job") == []


# ---------------------------------------------------------------------------------------------
# Processes, probes and termination


def test_api_serves_on_8080_and_is_probed_on_healthz_and_readyz(chart):
    api = find(render(chart, minimal()), "Deployment", "burgernet-api")
    container = only_container(api)
    assert container["args"] == ["serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert env_of(api)["BURGERNET_BIND"]["value"] == "0.0.0.0:8080"
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_workers_listen_on_8081_and_are_probed_on_healthz_and_readyz(chart):
    worker = find(render(chart, minimal()), "Deployment", "burgernet-worker")
    container = only_container(worker)
    assert container["args"] == ["work"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 8081, "protocol": "TCP"}]
    assert env_of(worker)["BURGERNET_WORKER_BIND"]["value"] == "0.0.0.0:8081"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_api_sleeps_before_sigterm_so_endpoints_are_removed_first(chart):
    api = find(render(chart, minimal()), "Deployment", "burgernet-api")
    assert only_container(api)["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert pod_spec(api)["terminationGracePeriodSeconds"] == 30


@BOTH_VALUES_FILES
def test_worker_termination_grace_exceeds_shutdown_grace_by_more_than_ten_seconds(chart, values_name):
    worker = find(render(chart, values_file(values_name)), "Deployment", "burgernet-worker")
    shutdown_grace = seconds(env_of(worker)["BURGERNET_SHUTDOWN_GRACE"]["value"])
    assert shutdown_grace == values_file(values_name).get("workers", {}).get("shutdownGraceSeconds", 20)
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > shutdown_grace + 10


def test_a_longer_shutdown_grace_lengthens_the_default_termination_grace(chart):
    worker = find(render(chart, minimal(workers={"shutdownGraceSeconds": 120})), "Deployment", "burgernet-worker")
    assert env_of(worker)["BURGERNET_SHUTDOWN_GRACE"]["value"] == "120s"
    assert pod_spec(worker)["terminationGracePeriodSeconds"] > 130


def test_a_termination_grace_too_short_for_the_shutdown_grace_is_refused(chart):
    error = refusal(chart, minimal(workers={"shutdownGraceSeconds": 30, "terminationGracePeriodSeconds": 40}))
    assert "workers.terminationGracePeriodSeconds (40) must exceed workers.shutdownGraceSeconds (30) + 10" in error


def test_api_termination_grace_must_outlast_the_pre_stop_sleep(chart):
    error = refusal(chart, minimal(api={"preStopSleepSeconds": 30, "terminationGracePeriodSeconds": 30}))
    assert "api.terminationGracePeriodSeconds must exceed api.preStopSleepSeconds" in error


def test_read_only_root_filesystem_comes_with_a_size_limited_tmp(chart):
    documents = render(chart, minimal())
    # The workers' room: two videos of 1 GiB (one per video tool run) plus 512 MiB.
    for name, size in [("burgernet-api", "64Mi"), ("burgernet-worker", 2 * 2**30 + 2**29)]:
        deployment = find(documents, "Deployment", name)
        assert env_of(deployment)["TMPDIR"]["value"] == "/tmp"
        mounts = {m["name"]: m["mountPath"] for m in only_container(deployment)["volumeMounts"]}
        assert mounts["tmp"] == "/tmp"
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        assert volumes["tmp"] == {"name": "tmp", "emptyDir": {"sizeLimit": size}}


def test_the_workers_tmp_grows_with_the_videos_they_may_hold_unless_set(chart):
    def worker_tmp(values):
        deployment = find(render(chart, values), "Deployment", "burgernet-worker")
        return {v["name"]: v for v in pod_spec(deployment)["volumes"]}["tmp"]["emptyDir"]["sizeLimit"]

    bigger = minimal(config={"video": {"toolConcurrency": 4}, "media": {"maxVideoBytes": 2 * 2**30}})
    assert worker_tmp(bigger) == 4 * 2 * 2**30 + 2**29
    assert worker_tmp(minimal(workers={"tmpSizeLimit": "20Gi"})) == "20Gi"


# ---------------------------------------------------------------------------------------------
# Security


RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "privileged": False,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@BOTH_VALUES_FILES
def test_every_pod_and_container_is_restricted(chart, values_name):
    pods = workloads(render(chart, values_file(values_name)))
    assert {p["metadata"]["name"] for p in pods} == {"burgernet-api", "burgernet-worker", "burgernet-migrate"}
    for workload in pods:
        spec = pod_spec(workload)
        assert spec["securityContext"].items() >= RESTRICTED_POD.items(), workload["metadata"]["name"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["securityContext"] == RESTRICTED_CONTAINER, workload["metadata"]["name"]


@BOTH_VALUES_FILES
def test_no_pod_gets_a_kubernetes_api_token_or_service_links(chart, values_name):
    documents = render(chart, values_file(values_name))
    for workload in workloads(documents):
        assert pod_spec(workload)["automountServiceAccountToken"] is False
        assert pod_spec(workload)["enableServiceLinks"] is False
    for account in kinds(documents, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_api_and_workers_run_as_the_chart_service_account_or_an_existing_one(chart):
    documents = render(chart, minimal())
    find(documents, "ServiceAccount", "burgernet")
    for name in ["burgernet-api", "burgernet-worker"]:
        assert pod_spec(find(documents, "Deployment", name))["serviceAccountName"] == "burgernet"
    documents = render(chart, minimal(serviceAccount={"create": False, "name": "burgernet-iam"}))
    assert kinds(documents, "ServiceAccount") == []
    assert pod_spec(find(documents, "Deployment", "burgernet-api"))["serviceAccountName"] == "burgernet-iam"


# ---------------------------------------------------------------------------------------------
# Secrets

# Names that say "secret": SECRET, PASSWORD, KEY, or a URL that carries credentials.
SECRET_LOOKING = re.compile(r"SECRET|PASSWORD|KEY|^DATABASE_URL$|^BURGERNET_SMTP_URL$")
# Matches of that pattern that hold no secret: Apple's key identifier is printed in its portal and
# sent in every JWT header; the others are paths of files mounted from the Secret.
NOT_SECRET = {"BURGERNET_APNS_KEY_ID"}
SECRET_FILE_PATHS = {"BURGERNET_STAFF_TOKEN_KEYS", "BURGERNET_APNS_KEY_FILE", "BURGERNET_FCM_SERVICE_ACCOUNT_FILE"}


@BOTH_VALUES_FILES
def test_chart_creates_no_secret_object(chart, values_name):
    assert kinds(render(chart, values_file(values_name)), "Secret") == []


@pytest.mark.parametrize(
    "values",
    [
        minimal(),
        production(),
        minimal(config={"media": {"store": "filesystem", "filesystem": {"existingClaim": "burgernet-media"}}}),
    ],
    ids=["minimal", "production", "filesystem-store"],
)
def test_every_secret_looking_variable_is_read_from_the_existing_secret(chart, values):
    documents = render(chart, values)
    for config_map in kinds(documents, "ConfigMap"):
        assert {name for name in config_map["data"] if SECRET_LOOKING.search(name)} <= NOT_SECRET
    checked = 0
    for workload in workloads(documents):
        for name, entry in env_of(workload).items():
            if not SECRET_LOOKING.search(name) or name in NOT_SECRET:
                continue
            checked += 1
            if name in SECRET_FILE_PATHS:
                assert entry["value"].startswith(SECRETS_DIR + "/"), name
            else:
                assert set(entry) == {"name", "valueFrom"}, name
                assert entry["valueFrom"]["secretKeyRef"]["name"] == SECRET, name
    assert checked >= 15  # the loop did look at the secrets, it did not pass for want of any


def test_secret_files_are_mounted_read_only_and_readable_by_the_app_group_alone(chart):
    documents = render(chart, minimal())
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        secret_volume = volumes["secret-files"]["secret"]
        assert secret_volume["secretName"] == SECRET
        assert secret_volume["defaultMode"] == 0o440
        mount = next(m for m in only_container(deployment)["volumeMounts"] if m["name"] == "secret-files")
        assert mount == {"name": "secret-files", "mountPath": SECRETS_DIR, "readOnly": True}


def test_api_gets_no_push_credentials(chart):
    documents = render(chart, production())
    api = find(documents, "Deployment", "burgernet-api")
    names = environment_names(documents, api)
    assert not [n for n in names if n.startswith(("BURGERNET_APNS_", "BURGERNET_FCM_"))]
    assert secret_file_items(api) == {"staff-token-keys": "staff-token-keys"}
    assert {"BURGERNET_PARTICIPANT_TOKEN_SECRET", "BURGERNET_STAFF_TOKEN_KEYS"} <= names


def test_staff_keys_from_the_identity_providers_jwks_url_need_no_key_file(chart):
    url = "https://login.politie.nl/realms/politie/protocol/openid-connect/certs"
    documents = render(chart, production(config={"staffToken": {"jwksUrl": url}}))
    api = find(documents, "Deployment", "burgernet-api")
    assert config_value(documents, api, "BURGERNET_STAFF_TOKEN_JWKS_URL") == url
    assert "BURGERNET_STAFF_TOKEN_KEYS" not in environment_names(documents, api)
    # No secret volume at all: one without items would hold every key of the Secret.
    assert "secret-files" not in {v["name"] for v in pod_spec(api)["volumes"]}
    assert "secret-files" not in {m["name"] for m in only_container(api)["volumeMounts"]}
    # Without the URL, the key file as before.
    documents = render(chart, production())
    api = find(documents, "Deployment", "burgernet-api")
    assert "BURGERNET_STAFF_TOKEN_JWKS_URL" not in environment_names(documents, api)


@pytest.mark.parametrize(
    "url", ["http://login.politie.nl/certs", "https://user:pass@login.politie.nl/certs", "login.politie.nl"]
)
def test_a_jwks_url_that_is_not_plain_https_is_refused(chart, url):
    assert "jwksUrl" in refusal(chart, minimal(config={"staffToken": {"jwksUrl": url}}))


def test_workers_get_no_participant_token_secret_or_staff_keys(chart):
    documents = render(chart, production())
    worker = find(documents, "Deployment", "burgernet-worker")
    names = environment_names(documents, worker)
    assert not [n for n in names if n.startswith(("BURGERNET_PARTICIPANT_TOKEN_", "BURGERNET_STAFF_TOKEN_KEYS"))]
    assert secret_file_items(worker) == {
        "apns-key.p8": "apns-key.p8",
        "fcm-service-account.json": "fcm-service-account.json",
    }
    assert env_of(worker)["BURGERNET_APNS_KEY_FILE"]["value"] == f"{SECRETS_DIR}/apns-key.p8"
    assert env_of(worker)["BURGERNET_FCM_SERVICE_ACCOUNT_FILE"]["value"] == f"{SECRETS_DIR}/fcm-service-account.json"


def test_both_processes_get_what_each_requires_at_start(chart):
    # serve and work both read the database, SMS gateway, SMTP and media store settings at start.
    documents = render(chart, minimal())
    shared = {
        "DATABASE_URL",
        "BURGERNET_PUBLIC_URL",
        "BURGERNET_SMS_GATEWAY_URL",
        "BURGERNET_SMS_GATEWAY_API_KEY",
        "BURGERNET_SMS_WEBHOOK_SECRET",
        "BURGERNET_VOICE_GATEWAY_URL",
        "BURGERNET_VOICE_GATEWAY_API_KEY",
        "BURGERNET_VOICE_WEBHOOK_SECRET",
        "BURGERNET_VOICE_CALLER_ID",
        "BURGERNET_CHANNEL_ORDER_ALARM",
        "BURGERNET_SMTP_URL",
        "BURGERNET_MEDIA_STORE",
        "BURGERNET_S3_BUCKET",
        "BURGERNET_S3_ACCESS_KEY_ID",
        "BURGERNET_S3_SECRET_ACCESS_KEY",
    }
    for name in ["burgernet-api", "burgernet-worker"]:
        assert shared <= environment_names(documents, find(documents, "Deployment", name)), name
    worker = find(documents, "Deployment", "burgernet-worker")
    assert {"BURGERNET_APNS_KEY_ID", "BURGERNET_APNS_TEAM_ID", "BURGERNET_APNS_TOPIC"} <= environment_names(
        documents, worker
    )


@pytest.mark.parametrize(
    "current, previous, key",
    [
        ("BURGERNET_PARTICIPANT_TOKEN_SECRET", "BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET",
         "participant-token-previous-secret"),
        ("BURGERNET_SMS_WEBHOOK_SECRET", "BURGERNET_SMS_WEBHOOK_PREVIOUS_SECRET", "sms-webhook-previous-secret"),
        ("BURGERNET_VOICE_WEBHOOK_SECRET", "BURGERNET_VOICE_WEBHOOK_PREVIOUS_SECRET",
         "voice-webhook-previous-secret"),
    ],
)
def test_previous_secrets_are_optional_for_rotation_without_downtime(chart, current, previous, key):
    documents = render(chart, minimal())
    api = find(documents, "Deployment", "burgernet-api")
    reference = env_of(api)[previous]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": SECRET, "key": key, "optional": True}
    assert "optional" not in env_of(api)[current]["valueFrom"]["secretKeyRef"]
    # Only the API checks what they signed.
    assert previous not in env_of(find(documents, "Deployment", "burgernet-worker"))


NO_CALLS = {"alerts": {"channelOrder": {"alarm": "push,sms", "search": "push,sms"}}}
VOICE_GATEWAY = [
    "BURGERNET_VOICE_GATEWAY_URL",
    "BURGERNET_VOICE_CALLER_ID",
    "BURGERNET_VOICE_GATEWAY_API_KEY",
    "BURGERNET_VOICE_WEBHOOK_SECRET",
    "BURGERNET_VOICE_WEBHOOK_PREVIOUS_SECRET",
]


def test_the_channel_orders_reach_both_processes_with_the_applications_defaults(chart):
    documents = render(chart, minimal())
    orders = {
        "BURGERNET_CHANNEL_ORDER_INFORM": "push,sms",
        "BURGERNET_CHANNEL_ORDER_ENGAGE": "push,sms",
        "BURGERNET_CHANNEL_ORDER_ALARM": "push,sms,voice",
        "BURGERNET_CHANNEL_ORDER_SEARCH": "push,sms,voice",
    }
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        assert {variable: config_value(documents, deployment, variable) for variable in orders} == orders
    data = find(documents, "ConfigMap", "burgernet-config")["data"]
    assert data["BURGERNET_VOICE_CALLER_ID"] == "+31880000000"
    assert (data["BURGERNET_VOICE_RATE"], data["BURGERNET_VOICE_CONCURRENCY"]) == ("10/s", "16")
    assert (data["BURGERNET_VOICE_LANE_JOBS"], data["BURGERNET_TARIFF_VOICE_MINUTE_EUR"]) == ("2", "0.10")


def test_an_order_that_calls_needs_the_voice_gateway_and_the_gateway_its_caller_id(chart):
    without_gateway = minimal()
    del without_gateway["config"]["voice"]
    assert "/config/voice/gatewayUrl" in refusal(chart, without_gateway)
    calls_inform = with_overrides(without_gateway, {"config": NO_CALLS})
    calls_inform["config"]["alerts"]["channelOrder"]["inform"] = "push,voice,sms"
    assert "/config/voice/gatewayUrl" in refusal(chart, calls_inform)
    assert "/config/voice/callerId" in refusal(chart, minimal(config={"voice": {"callerId": ""}}))
    assert "/config/voice/callerId" in refusal(chart, minimal(config={"voice": {"callerId": "0880000000"}}))
    refused = minimal(config={"alerts": {"channelOrder": {"search": "voice,push,sms"}}})
    assert "/config/alerts/channelOrder/search" in refusal(chart, refused)


def test_without_calls_no_pod_gets_the_voice_gateway_nor_its_secrets(chart):
    # The application refuses the gateway's key, secrets and caller id without its URL.
    values = minimal(config=NO_CALLS)
    del values["config"]["voice"]
    documents = render(chart, values)
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        assert not set(VOICE_GATEWAY) & environment_names(documents, deployment), name
        assert config_value(documents, deployment, "BURGERNET_CHANNEL_ORDER_SEARCH") == "push,sms"
    for component in ["api", "worker"]:
        assert egress_ports(policy_of(documents, component))[1][:3] == [5432, 587, 443]


def test_secret_key_names_can_be_mapped_to_an_existing_secret_layout(chart):
    values = minimal(
        existingSecret="vault-burgernet",
        secretKeys={"migrationDatabaseUrl": "DB_URL", "apnsKey": "apns.p8"},
    )
    documents = render(chart, values)
    job = find(documents, "Job", "burgernet-migrate")
    assert env_of(job)["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "vault-burgernet", "key": "DB_URL"}
    assert secret_file_items(find(documents, "Deployment", "burgernet-worker"))["apns.p8"] == "apns-key.p8"


@pytest.mark.parametrize(
    "attempt",
    [
        {"config": {"smtpUrl": SENTINEL}},
        {"config": {"sms": {"apiKey": SENTINEL}}},
        {"databaseUrl": SENTINEL},
        {"config": {"extraEnv": {"DATABASE_URL": SENTINEL}}},
        {"config": {"extraEnv": {"BURGERNET_PARTICIPANT_TOKEN_SECRET": SENTINEL}}},
        {"config": {"extraEnv": {"BURGERNET_S3_SECRET_ACCESS_KEY": SENTINEL}}},
    ],
    ids=lambda attempt: yaml.safe_dump(attempt, default_flow_style=True).strip(),
)
def test_a_secret_given_in_values_is_refused_without_being_echoed(chart, attempt):
    error = refusal(chart, minimal(**attempt))
    assert SENTINEL not in error


def test_a_harmless_extra_setting_does_reach_the_output(chart):
    # The control for the test above: the sentinel is absent there because it was refused.
    documents = render(chart, minimal(config={"extraEnv": {"BURGERNET_HARMLESS": SENTINEL}}))
    assert SENTINEL in yaml.safe_dump_all(documents)
    assert find(documents, "ConfigMap", "burgernet-config")["data"]["BURGERNET_HARMLESS"] == SENTINEL


def test_s3_credentials_go_only_with_the_s3_store_and_the_signing_key_only_with_the_filesystem_store(chart):
    s3 = find(render(chart, minimal()), "Deployment", "burgernet-api")
    assert {"BURGERNET_S3_ACCESS_KEY_ID", "BURGERNET_S3_SECRET_ACCESS_KEY"} <= set(env_of(s3))
    assert "BURGERNET_MEDIA_SIGNING_KEY" not in env_of(s3)
    filesystem_values = minimal(config={"media": {"store": "filesystem", "filesystem": {"existingClaim": "media"}}})
    filesystem = find(render(chart, filesystem_values), "Deployment", "burgernet-api")
    assert "BURGERNET_MEDIA_SIGNING_KEY" in env_of(filesystem)
    assert not {"BURGERNET_S3_ACCESS_KEY_ID", "BURGERNET_S3_SECRET_ACCESS_KEY"} & set(env_of(filesystem))


# ---------------------------------------------------------------------------------------------
# Configuration


def readme_variables():
    """Every variable in the Configuration table of the repository's README."""
    readme = (REPOSITORY / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


# README variables the chart does not set, and why.
NOT_FOR_KUBERNETES = {
    "BURGERNET_DEV_DIR": "local mode only",
    "BURGERNET_PG_BINDIR": "local mode and tests only",
}


def test_every_readme_variable_reaches_the_processes_or_is_local_mode_only(chart):
    every_optional_setting = production(
        config={
            "apns": {"caFile": "/etc/burgernet/ca/apns.pem", "rate": "100000/min"},
            "fcm": {"caFile": "/etc/burgernet/ca/fcm.pem", "tokenUri": "https://oauth2.googleapis.com/token"},
            "staffToken": {"jwksUrl": "https://login.politie.nl/realms/politie/protocol/openid-connect/certs"},
            "console": {"tileAttribution": "Kaartgegevens © Kadaster", "mediaOrigin": "https://s3.burgernet.nl"},
        }
    )
    filesystem_store = minimal(config={"media": {"store": "filesystem", "filesystem": {"existingClaim": "media"}}})
    configured = set()
    for values in [every_optional_setting, filesystem_store]:
        documents = render(chart, values)
        for workload in workloads(documents):
            configured |= environment_names(documents, workload)
    expected = readme_variables() - set(NOT_FOR_KUBERNETES)
    assert len(expected) > 60
    assert expected - configured == set()


def test_config_map_carries_the_readme_defaults_and_json_logs(chart):
    documents = render(chart, minimal())
    data = find(documents, "ConfigMap", "burgernet-config")["data"]
    assert data["BURGERNET_LOG_FORMAT"] == "json"
    assert data["BURGERNET_LOG"] == "info"
    assert data["BURGERNET_DB_POOL_SIZE"] == "16"
    assert data["BURGERNET_STAFF_TOKEN_ALGORITHMS"] == "RS256,ES256"
    assert data["BURGERNET_JOB_LEASE"] == "60s"
    assert data["BURGERNET_ALERT_REGION_MARGIN"] == "5km"
    assert data["BURGERNET_S3_REGION"] == "eu-west-1"
    assert data["BURGERNET_EMAIL_FROM"] == "Burgernet <noreply@burgernet.nl>"
    assert "BURGERNET_S3_FORCE_PATH_STYLE" not in data  # the application's default: true with an endpoint
    assert "BURGERNET_VIDEO_MAX_DURATION" not in data  # no limit


def test_large_numbers_are_written_as_plain_integers(chart):
    # Helm reads numbers as floats; printed carelessly 1 GiB would become 1.073741824e+09.
    data = find(render(chart, minimal()), "ConfigMap", "burgernet-config")["data"]
    assert data["BURGERNET_MEDIA_MAX_VIDEO_BYTES"] == "1073741824"
    assert data["BURGERNET_MEDIA_MAX_PHOTO_BYTES"] == "41943040"


def test_push_settings_reach_the_workers_only_even_through_extra_env(chart):
    documents = render(chart, production())
    shared = find(documents, "ConfigMap", "burgernet-config")["data"]
    workers_only = find(documents, "ConfigMap", "burgernet-worker-config")["data"]
    assert not [name for name in shared if name.startswith(("BURGERNET_APNS_", "BURGERNET_FCM_"))]
    assert workers_only["BURGERNET_APNS_CONNECTIONS"] == "8"  # from config.extraEnv
    assert workers_only["BURGERNET_APNS_TOPIC"] == "nl.burgernet.app"


def test_extra_env_adds_and_overrides_settings(chart):
    values = minimal(config={"extraEnv": {"BURGERNET_NEW_SETTING": "on", "BURGERNET_LOG": "debug"}})
    data = find(render(chart, values), "ConfigMap", "burgernet-config")["data"]
    assert data["BURGERNET_NEW_SETTING"] == "on"
    assert data["BURGERNET_LOG"] == "debug"


@pytest.mark.parametrize("name", ["BURGERNET_BIND", "BURGERNET_WORKER_BIND", "BURGERNET_SHUTDOWN_GRACE", "TMPDIR"])
def test_extra_env_cannot_change_what_ports_mounts_and_termination_depend_on(chart, name):
    error = refusal(chart, minimal(config={"extraEnv": {name: "x"}}))
    assert f"config.extraEnv.{name}: the chart sets this one itself" in error


def test_config_checksum_changes_when_a_setting_changes(chart):
    before = render(chart, minimal())
    after = render(chart, minimal(config={"jobs": {"concurrency": 16}}))
    for deployment in ["burgernet-api", "burgernet-worker"]:
        assert checksum(before, deployment) != checksum(after, deployment)


def test_config_checksum_stays_when_no_setting_changes(chart):
    before = render(chart, minimal())
    after = render(chart, minimal(api={"replicas": 5}, workers={"resources": {"limits": {"memory": "3Gi"}}}))
    for deployment in ["burgernet-api", "burgernet-worker"]:
        assert checksum(before, deployment) == checksum(after, deployment)
    assert checksum(before, "burgernet-api") == checksum(render(chart, minimal()), "burgernet-api")


def test_push_settings_roll_the_workers_but_not_the_api(chart):
    before = render(chart, minimal())
    after = render(chart, minimal(config={"apns": {"connections": 8}}))
    assert checksum(before, "burgernet-worker") != checksum(after, "burgernet-worker")
    assert checksum(before, "burgernet-api") == checksum(after, "burgernet-api")


# ---------------------------------------------------------------------------------------------
# The media store


def test_filesystem_store_without_a_claim_is_refused_with_an_explanation(chart):
    error = refusal(chart, minimal(config={"media": {"store": "filesystem"}}))
    assert "config.media.filesystem.existingClaim" in error
    assert "ReadWriteMany" in error


def test_filesystem_store_shares_one_claim_between_api_and_workers(chart):
    values = minimal(config={"media": {"store": "filesystem", "filesystem": {"existingClaim": "burgernet-media"}}})
    documents = render(chart, values)
    media_dir = find(documents, "ConfigMap", "burgernet-config")["data"]["BURGERNET_MEDIA_DIR"]
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        assert volumes["media"]["persistentVolumeClaim"] == {"claimName": "burgernet-media"}
        mounts = {m["name"]: m["mountPath"] for m in only_container(deployment)["volumeMounts"]}
        assert mounts["media"] == media_dir


def test_s3_store_mounts_no_media_volume(chart):
    documents = render(chart, minimal())
    data = find(documents, "ConfigMap", "burgernet-config")["data"]
    assert data["BURGERNET_MEDIA_STORE"] == "s3" and data["BURGERNET_S3_BUCKET"] == "burgernet-media"
    assert "BURGERNET_MEDIA_DIR" not in data
    for deployment in kinds(documents, "Deployment"):
        assert "media" not in {v["name"] for v in pod_spec(deployment)["volumes"]}


def test_no_database_ca_is_mounted_unless_one_is_named(chart):
    for workload in workloads(render(chart, minimal())):
        assert "database-ca" not in {v["name"] for v in pod_spec(workload)["volumes"]}


@pytest.mark.parametrize("source", ["configMap", "secret"])
def test_the_database_ca_is_mounted_where_sslrootcert_finds_it_in_every_pod(chart, source):
    values = minimal(config={"database": {"caCertificate": {source: "db-ca", "key": "root.pem"}}})
    documents = render(chart, values)
    assert len(workloads(documents)) == 3
    for workload in workloads(documents):
        volume = {v["name"]: v for v in pod_spec(workload)["volumes"]}["database-ca"]
        reference = volume["configMap"] if source == "configMap" else volume["secret"]
        assert reference.get("name", reference.get("secretName")) == "db-ca"
        assert reference["items"] == [{"key": "root.pem", "path": "ca.crt"}]
        mount = {m["name"]: m for m in only_container(workload)["volumeMounts"]}["database-ca"]
        assert mount == {"name": "database-ca", "mountPath": "/etc/burgernet/database-ca", "readOnly": True}
    readme = (CHART / "README.md").read_text()
    assert "sslmode=verify-full&sslrootcert=/etc/burgernet/database-ca/ca.crt" in readme


def test_a_database_ca_from_both_a_config_map_and_a_secret_is_refused(chart):
    error = refusal(chart, minimal(config={"database": {"caCertificate": {"configMap": "a", "secret": "b"}}}))
    assert "config.database.caCertificate" in error


# ---------------------------------------------------------------------------------------------
# Services and the Ingress


def test_api_service_sends_port_80_to_the_http_port_of_api_pods(chart):
    documents = render(chart, minimal())
    service = find(documents, "Service", "burgernet-api")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    pod_labels = find(documents, "Deployment", "burgernet-api")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"


def test_worker_metrics_service_is_headless_on_the_metrics_port(chart):
    documents = render(chart, minimal())
    service = find(documents, "Service", "burgernet-worker-metrics")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "worker"


def test_no_ingress_by_default(chart):
    assert kinds(render(chart, minimal()), "Ingress") == []


def test_ingress_routes_only_the_public_api_over_tls(chart):
    ingress = find(render(chart, production()), "Ingress", "burgernet-api")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "api-burgernet-tls", "hosts": ["api.burgernet.example"]}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "api.burgernet.example"
    routes = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
    assert routes == {("/v1", "Prefix"), ("/openapi.json", "Exact"), ("/docs", "Exact")}
    for path in rule["http"]["paths"]:
        assert path["backend"] == {"service": {"name": "burgernet-api", "port": {"name": "http"}}}


@pytest.mark.parametrize("expose_docs", [True, False])
def test_ingress_never_exposes_metrics_or_health_endpoints(chart, expose_docs):
    ingress = find(render(chart, production(ingress={"exposeDocs": expose_docs})), "Ingress", "burgernet-api")
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for internal in ["/metrics", "/healthz", "/readyz"]:
        # A Prefix path that is a prefix of an internal path would route it too.
        assert not [p for p in paths if internal.startswith(p.rstrip("/") + "/") or internal == p or p == "/"]
    assert ("/docs" in paths) == expose_docs


def test_behind_the_charts_ingress_the_client_address_is_one_hop_away(chart):
    # Otherwise every participant would share the ingress controller's address, and so one
    # per-client sign-in limit.
    ingress = {"enabled": True, "hosts": ["api.burgernet.example"], "tls": {"secretName": "api-tls"}}

    def hops(values):
        documents = render(chart, values)
        return config_value(documents, find(documents, "Deployment", "burgernet-api"), "BURGERNET_TRUSTED_PROXY_HOPS")

    assert hops(minimal(ingress=ingress)) == "1"
    assert hops(minimal()) == "0"
    assert hops(minimal(ingress=ingress, config={"http": {"trustedProxyHops": 2}})) == "2"


def test_ingress_without_hosts_or_certificate_is_refused(chart):
    assert "ingress.hosts" in refusal(chart, minimal(ingress={"enabled": True}))
    error = refusal(chart, minimal(ingress={"enabled": True, "hosts": ["api.burgernet.example"]}))
    assert "ingress.tls.secretName" in error


# ---------------------------------------------------------------------------------------------
# Scaling and disruption


def test_fixed_replicas_without_autoscaling(chart):
    documents = render(chart, minimal(api={"replicas": 3}, workers={"replicas": 4}))
    assert find(documents, "Deployment", "burgernet-api")["spec"]["replicas"] == 3
    assert find(documents, "Deployment", "burgernet-worker")["spec"]["replicas"] == 4
    assert kinds(documents, "HorizontalPodAutoscaler") == []


def test_autoscaling_takes_replicas_away_from_the_deployments(chart):
    documents = render(chart, production())
    for name in ["burgernet-api", "burgernet-worker"]:
        assert "replicas" not in find(documents, "Deployment", name)["spec"]
        autoscaler = find(documents, "HorizontalPodAutoscaler", name)
        assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        [metric] = autoscaler["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
    api = find(documents, "HorizontalPodAutoscaler", "burgernet-api")["spec"]
    assert (api["minReplicas"], api["maxReplicas"]) == (3, 12)
    assert api["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}


def test_autoscaling_one_component_leaves_the_other_fixed(chart):
    documents = render(chart, minimal(workers={"autoscaling": {"enabled": True}}))
    assert find(documents, "Deployment", "burgernet-api")["spec"]["replicas"] == 2
    assert "replicas" not in find(documents, "Deployment", "burgernet-worker")["spec"]
    assert [h["metadata"]["name"] for h in kinds(documents, "HorizontalPodAutoscaler")] == ["burgernet-worker"]


def test_disruption_budgets_allow_one_pod_down_per_component(chart):
    documents = render(chart, minimal())
    for name in ["burgernet-api", "burgernet-worker"]:
        budget = find(documents, "PodDisruptionBudget", name)
        assert budget["spec"]["maxUnavailable"] == 1
        pod_labels = find(documents, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_pods_spread_over_zones_and_nodes_without_blocking_scheduling(chart):
    documents = render(chart, minimal())
    for name in ["burgernet-api", "burgernet-worker"]:
        deployment = find(documents, "Deployment", name)
        constraints = pod_spec(deployment)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in constraints} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        for constraint in constraints:
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
            assert constraint["labelSelector"]["matchLabels"].items() <= pod_labels.items()


def test_scheduling_settings_pass_through_to_the_pods(chart):
    documents = render(chart, production())
    api = pod_spec(find(documents, "Deployment", "burgernet-api"))
    worker = pod_spec(find(documents, "Deployment", "burgernet-worker"))
    assert api["priorityClassName"] == "burgernet-critical"
    assert worker["nodeSelector"] == {"node.kubernetes.io/pool": "workers"}
    assert worker["tolerations"][0]["value"] == "burgernet-workers"
    assert api["imagePullSecrets"] == [{"name": "registry-credentials"}]
    annotations = find(documents, "Deployment", "burgernet-api")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["team"] == "burgernet" and "checksum/config" in annotations


def test_an_image_digest_pins_the_image(chart):
    documents = render(chart, production())
    digest = values_file("production")["image"]["digest"]
    for workload in workloads(documents):
        assert only_container(workload)["image"] == f"registry.politie.example/burgernet/burgernet@{digest}"
    default = only_container(find(render(chart, minimal()), "Deployment", "burgernet-api"))["image"]
    assert default == f"burgernet:{chart.metadata['appVersion']}"


# ---------------------------------------------------------------------------------------------
# Network policy and monitoring


def test_network_policies_render_by_default_and_only_then_restrict_egress(chart):
    documents = render(chart, minimal())
    for name in ["burgernet-api", "burgernet-worker"]:
        assert find(documents, "NetworkPolicy", name)["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert len(kinds(documents, "NetworkPolicy")) == 2
    assert kinds(render(chart, minimal(networkPolicy={"enabled": False})), "NetworkPolicy") == []


def policy_of(documents, component):
    """The component's NetworkPolicy, after checking that it selects the component's pods."""
    policy = find(documents, "NetworkPolicy", f"burgernet-{component}")
    pod_labels = find(documents, "Deployment", f"burgernet-{component}")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
    return policy


def test_by_default_the_api_port_answers_ingress_nginx_and_prometheus_only(chart):
    [rule] = policy_of(render(chart, minimal()), "api")["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {
                "matchLabels": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
            },
        },
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        },
    ]


def test_by_default_the_worker_metrics_port_answers_prometheus_only(chart):
    assert policy_of(render(chart, minimal()), "worker")["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                }
            ],
            "ports": [{"port": "metrics", "protocol": "TCP"}],
        }
    ]


def test_the_policies_admit_exactly_the_peers_the_values_name(chart):
    traefik = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
        "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["traefik"]}]},
    }
    prometheus = {"podSelector": {"matchLabels": {"app": "prometheus"}}}
    documents = render(chart, minimal(networkPolicy={"ingressControllers": [traefik], "monitoring": [prometheus]}))
    [api] = policy_of(documents, "api")["spec"]["ingress"]
    assert api["from"] == [traefik, prometheus]
    [worker] = policy_of(documents, "worker")["spec"]["ingress"]
    assert worker["from"] == [prometheus]

    # No monitoring: the workers answer nobody (a rule without peers would admit everyone).
    documents = render(chart, minimal(networkPolicy={"monitoring": []}))
    assert policy_of(documents, "worker")["spec"]["ingress"] == []
    [api] = policy_of(documents, "api")["spec"]["ingress"]
    assert api["from"] == chart.values["networkPolicy"]["ingressControllers"]


def test_schema_refuses_a_peer_that_names_no_pods(chart):
    for peer in [{}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]:
        assert "/networkPolicy/monitoring/0" in refusal(chart, minimal(networkPolicy={"monitoring": [peer]}))


def egress_ports(policy):
    """DNS's ports and the TCP ports of the rule the chart derives from its settings."""
    dns, derived, *_ = policy["spec"]["egress"]
    assert "to" not in dns
    assert all(port["protocol"] == "TCP" for port in derived["ports"])
    return {(port["port"], port["protocol"]) for port in dns["ports"]}, [port["port"] for port in derived["ports"]]


def test_egress_allows_dns_the_database_smtp_and_the_ports_of_the_configured_urls(chart):
    documents = render(chart, minimal())
    for component in ["api", "worker"]:
        dns, ports = egress_ports(policy_of(documents, component))
        assert dns == {(53, "UDP"), (53, "TCP")}
        # PostgreSQL, SMTP submission, then HTTPS: the SMS and voice gateways, S3, APNs, FCM, Google's tokens.
        assert ports == [5432, 587, 443], component
        assert len(policy_of(documents, component)["spec"]["egress"]) == 2

    moved = minimal(
        config={
            "sms": {"gatewayUrl": "https://sms.gateway.example:8443/api"},
            "voice": {"gatewayUrl": "https://voice.gateway.example:8445/api"},
            "media": {"s3": {"endpoint": "http://minio.storage:9000"}},
            "staffToken": {"jwksUrl": "https://login.politie.example:9443/jwks"},
            "apns": {"url": "https://apns-proxy.example:2197"},
            "fcm": {"tokenUri": "https://tokens.example:8444/token"},
        },
        networkPolicy={"egress": {"databasePort": 6432, "smtpPort": 25}},
    )
    documents = render(chart, moved)
    assert egress_ports(policy_of(documents, "api"))[1] == [6432, 25, 8443, 8445, 9000, 9443]
    assert egress_ports(policy_of(documents, "worker"))[1] == [6432, 25, 8443, 8445, 9000, 2197, 443, 8444]

    filesystem = minimal(config={"media": {"store": "filesystem", "filesystem": {"existingClaim": "media"}}})
    assert egress_ports(policy_of(render(chart, filesystem), "api"))[1] == [5432, 587, 443]


def test_egress_goes_where_the_values_say_with_the_extra_rules(chart):
    values = values_file("production")["networkPolicy"]["egress"]
    for component in ["api", "worker"]:
        _, derived, *extra = policy_of(render(chart, production()), component)["spec"]["egress"]
        assert derived["to"] == values["to"]
        assert 465 in [port["port"] for port in derived["ports"]]
        assert extra == values["rules"]


def test_egress_is_open_when_not_restricted(chart):
    unrestricted = minimal(networkPolicy={"egress": {"restrict": False}})
    for component in ["api", "worker"]:
        policy = policy_of(render(chart, unrestricted), component)
        assert policy["spec"]["policyTypes"] == ["Ingress"] and "egress" not in policy["spec"]


def test_service_monitors_render_only_when_enabled_and_scrape_the_right_ports(chart):
    assert kinds(render(chart, minimal()), "ServiceMonitor") == []
    documents = render(chart, production())
    for monitor_name, service_name, port in [
        ("burgernet-api", "burgernet-api", "http"),
        ("burgernet-worker", "burgernet-worker-metrics", "metrics"),
    ]:
        monitor = find(documents, "ServiceMonitor", monitor_name)
        assert monitor["metadata"]["labels"]["release"] == "prometheus"
        service = find(documents, "Service", service_name)
        selected = [
            s["metadata"]["name"]
            for s in kinds(documents, "Service")
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        assert selected == [service_name]
        assert monitor["spec"]["endpoints"] == [
            {"port": port, "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
        ]
        assert port in {p["name"] for p in service["spec"]["ports"]}


# ---------------------------------------------------------------------------------------------
# Documentation


def documented_values():
    """The keys in the Values table of the chart's README."""
    readme = (CHART / "README.md").read_text()
    section = readme.split("## Values", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def undocumented(values, documented, prefix=""):
    """Keys of `values` covered by no row of the table (a row covers everything below its key)."""
    missing = []
    for key, value in values.items():
        path = prefix + key
        if path in documented:
            continue
        if isinstance(value, dict) and value:
            missing += undocumented(value, documented, path + ".")
        else:
            missing.append(path)
    return missing


def test_readme_documents_every_value_and_only_existing_ones(chart):
    documented = documented_values()
    assert undocumented(chart.values, set(documented)) == []
    for key in documented:
        node = chart.values
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"README documents {key}, which values.yaml lacks"
            node = node[part]




def test_notes_tell_how_to_check_readiness_migrations_and_metrics(chart):
    notes = render_files(chart, minimal())["burgernet/templates/NOTES.txt"]
    assert "kubectl -n burgernet logs job/burgernet-migrate" in notes
    assert "/readyz" in notes
    assert "burgernet-worker-metrics" in notes and "/metrics" in notes
    assert "port-forward svc/burgernet-api" in notes
