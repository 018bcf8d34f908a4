"""The API contract, tried the way an outside tester tries it: schemathesis generates requests
from openapi/openapi.json (valid ones and invalid ones) and sends them to a real `burgernet dev`
(its own PostgreSQL, the local stand-ins for push, SMS and e-mail) as every role and as nobody.
Every answer must be one the contract declares (status, content type, headers, body schema), and
none may be a server error.

The scene is set through the API first (a participant with a home in Rotterdam, a sent alert that
reached them, a tip), and the ids it made are handed to schemathesis, so requests reach the
endpoints' logic instead of stopping at 404. Run with `scripts/check-contract`; `scripts/test`
runs it after the Rust tests. Bounded: a fixed number of examples per operation, a fixed seed.
"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
CONTRACT = REPOSITORY / "openapi" / "openapi.json"
CONFIG = pathlib.Path(__file__).resolve().parent / "schemathesis.toml"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPOSITORY / "target"))
BINARY = pathlib.Path(os.environ.get("BURGERNET_BINARY", TARGET / "debug" / "burgernet"))

# Every check of an answer against the contract. Left out: the checks that judge the API's
# business rules against the schema alone (`positive_data_acceptance` would call a refusal of a
# schema-valid but unknown municipality a failure), and the stateful ones that need links.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 25
SEED = 20261206

ROTTERDAM = (51.9225, 4.4792)
REGION = "rotterdam"
MUNICIPALITY = "GM0599"
PARTICIPANT_PHONE = "+31612345678"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    """A tiny JSON client for setting the scene."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, token=None, body=None, expect=(200, 201, 202, 204)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        assert status in expect, f"{method} {path}: {status} {text}"
        return json.loads(text) if text.strip() else None


def wait_until(what, condition, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def server():
    assert BINARY.exists(), f"{BINARY} is missing: build it first (scripts/check-contract does)"
    workdir = tempfile.TemporaryDirectory(prefix="burgernet-contract-")
    # As root, the local PostgreSQL runs as another user, which must be able to reach its files.
    os.chmod(workdir.name, 0o755)
    port, worker_port = free_port(), free_port()
    environment = dict(
        os.environ,
        BURGERNET_DEV_DIR=f"{workdir.name}/dev",
        BURGERNET_BIND=f"127.0.0.1:{port}",
        BURGERNET_WORKER_BIND=f"127.0.0.1:{worker_port}",
        RUST_LOG="warn",
    )
    environment.pop("DATABASE_URL", None)
    log = open(f"{workdir.name}/dev.log", "w")
    process = subprocess.Popen([BINARY, "dev"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"burgernet dev exited: {pathlib.Path(log.name).read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_until("burgernet dev to be ready", ready, seconds=180)
    yield {"base": base, "dir": pathlib.Path(workdir.name) / "dev", "workdir": workdir.name}
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    workdir.cleanup()


def staff_token(server, role, *scope):
    key = server["dir"] / "identity-provider" / "private-key.pem"
    command = [BINARY, "admin", "mint-staff-token", "--role", role, "--key", str(key), *scope]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def sign_in(api, phone):
    """Signs a participant in the way the app does: a code by SMS (read from the local outbox)."""
    api.call("POST", "/v1/sign-in/codes", body={"phone_number": phone})

    def code_in_outbox():
        for message in api.call("GET", "/dev/outbox?limit=50"):
            if message["channel"] == "sms" and message["recipient"] == phone:
                found = re.search(r"\b(\d{6})\b", message["body"])
                if found:
                    return found.group(1)
        return None

    code = wait_until("the sign-in SMS", code_in_outbox, seconds=30)
    return api.call("POST", "/v1/sign-in/tokens", body={"phone_number": phone, "code": code})


@pytest.fixture(scope="session")
def scene(server):
    """Tokens for every role and the ids of what exists: a participant with a home and a device,
    an alert over that home which reached them, and their tip."""
    api = Api(server["base"])
    tokens = {
        "dispatcher": staff_token(server, "dispatcher", "--region", REGION),
        "relations_officer": staff_token(server, "relations_officer", "--municipality", MUNICIPALITY),
        "region_manager": staff_token(server, "region_manager", "--region", REGION),
        "admin": staff_token(server, "admin"),
    }
    participant = sign_in(api, PARTICIPANT_PHONE)
    tokens["participant"] = participant["access_token"]
    latitude, longitude = ROTTERDAM
    place = api.call(
        "POST",
        "/v1/me/places",
        tokens["participant"],
        {"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude},
    )
    device = api.call(
        "POST",
        "/v1/me/devices",
        tokens["participant"],
        {
            "platform": "android",
            "push_token": "contract:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_Fd-5zOYq",
            "app_version": "2.4.1",
            "locale": "nl-NL",
        },
    )
    alert = api.call(
        "POST",
        "/v1/alerts",
        tokens["dispatcher"],
        {
            "category": "search",
            "urgent": True,
            "channels": ["push", "sms"],
            "texts": {
                "nl": {"title": "Gezocht: man op witte scooter", "message": "Man, 25-35 jaar, zwarte jas."},
            },
            "area": {
                "type": "circle",
                "center": {"latitude": latitude, "longitude": longitude},
                "radius_meters": 1000,
            },
        },
    )
    api.call("POST", f"/v1/alerts/{alert['id']}/send", tokens["dispatcher"], {})
    wait_until(
        "the alert to reach the participant",
        lambda: any(item["id"] == alert["id"] for item in api.call("GET", "/v1/me/alerts", tokens["participant"])),
    )
    tip = api.call(
        "POST", f"/v1/me/alerts/{alert['id']}/tips", tokens["participant"], {"text": "Man op witte scooter gezien."}
    )
    ids = {
        "CONTRACT_ALERT_ID": alert["id"],
        "CONTRACT_TIP_ID": tip["id"],
        "CONTRACT_PLACE_ID": place["id"],
        "CONTRACT_DEVICE_ID": device["id"],
        "CONTRACT_PARTICIPANT_ID": participant["participant_id"],
        "CONTRACT_REGION": REGION,
        "CONTRACT_MUNICIPALITY": MUNICIPALITY,
    }
    return {"tokens": tokens, "ids": ids}


def run_schemathesis(server, scene, token, *selection):
    """Runs schemathesis over the contract's operations (those `selection` names); returns its
    exit status and its report."""
    command = [
        "schemathesis",
        "--config-file",
        str(CONFIG),
        "run",
        str(CONTRACT),
        "--url",
        server["base"],
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--request-timeout",
        "20",
        # One worker: with several threads, CPython 3.11's `ast` (which Hypothesis uses to describe
        # its strategies) trips over its own recursion counter and schemathesis reports a runtime
        # error of its own.
        "--workers",
        "1",
        "--no-color",
        *selection,
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    environment = dict(os.environ, **scene["ids"])
    # In the scratch directory: schemathesis keeps a replay cache where it runs.
    finished = subprocess.run(
        command, env=environment, cwd=server["workdir"], capture_output=True, text=True, timeout=900
    )
    return finished.returncode, findings(finished.stdout + finished.stderr)


def findings(report):
    """The part of schemathesis' report worth reading when it fails: its failures and errors
    (each with a `curl` line to reproduce it), then its summary."""
    failures = re.search(r"=+ (FAILURES|ERRORS) =+.*?(?==+ WARNINGS =+|=+ SUMMARY =+)", report, re.DOTALL)
    summary = re.search(r"=+ SUMMARY =+.*", report, re.DOTALL)
    parts = [part.group(0) for part in (failures, summary) if part]
    return "\n".join(parts) if parts else report[-20000:]


# Operations a role must not use up in the middle of the run: ending one's own session or account
# would turn every later request into a 401. They get a run of their own, last.
ENDS_THE_SESSION = ["--exclude-method-regex", "DELETE", "--exclude-path-regex", "^/v1/(me|session)$"]


@pytest.mark.parametrize(
    "role", ["anonymous", "dispatcher", "relations_officer", "region_manager", "admin", "participant"]
)
def test_every_answer_is_declared_and_none_is_a_server_error(server, scene, role):
    token = scene["tokens"].get(role)
    status, report = run_schemathesis(server, scene, token, *(ENDS_THE_SESSION if role == "participant" else []))
    assert status == 0, f"schemathesis found contract violations as {role}:\n{report}"
    assert re.search(r"\d+ generated, \d+ passed", report), report


def test_ending_the_session_and_the_account_keeps_to_the_contract(server, scene):
    api = Api(server["base"])
    participant = sign_in(api, "+31612345679")
    status, report = run_schemathesis(
        server,
        scene,
        participant["access_token"],
        "--include-method",
        "DELETE",
        "--include-path-regex",
        "^/v1/(me|session)$",
    )
    assert status == 0, f"schemathesis found contract violations:\n{report}"
