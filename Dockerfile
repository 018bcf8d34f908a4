# syntax=docker/dockerfile:1.7
# The one image for `burgernet serve`, `work` and `migrate` (the Helm chart picks the subcommand).
#
#   docker build -t burgernet:0.1.0 .
#
# Four stages: the console's bundle (Node.js, packages pinned by console/package-lock.json); the
# release build, which embeds that bundle; a Debian stage that gathers ffmpeg and ffprobe with exactly
# the shared libraries they load; and a distroless runtime (glibc, CA certificates, tzdata, no
# shell, no package manager) that gets the binary and those tools. Builder, tool stage and
# runtime are all Debian 12 (bookworm), so the copied libraries match the runtime's glibc.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20
ARG DEBIAN_RELEASE=bookworm

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/ ./
RUN node build.mjs

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
COPY --from=console /console/dist console/dist
# The caches keep crates and build artefacts between builds; the binary is copied out of the
# cached target directory because cache mounts are not part of the image. Without default
# features: no local mode (`dev`, `bench`, the fake providers, the local outbox) in the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin burgernet --no-default-features \
    && install -D -m 0755 target/release/burgernet /out/usr/local/bin/burgernet

FROM debian:${DEBIAN_RELEASE}-slim AS video-tools
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Not pinned to a package version: the release's security updates are what we want, and pinned
# versions vanish from the archive when they are superseded.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
# ffmpeg and ffprobe plus every library they link, outside the C library itself (the runtime
# has its own glibc of the same release; mixing two would break the loader).
RUN set -eu; \
    mkdir -p /out/usr/bin; \
    cp /usr/bin/ffmpeg /usr/bin/ffprobe /out/usr/bin/; \
    for tool in /usr/bin/ffmpeg /usr/bin/ffprobe; do ldd "$tool"; done \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
      | grep -Ev '/(libc|libm|libdl|libpthread|librt|libresolv|ld-linux[^/]*)\.so' \
      | sort -u \
      | while read -r library; do cp -L --parents "$library" /out/; done; \
    test "$(find /out -name '*.so*' | wc -l)" -gt 50

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=video-tools /out/ /
COPY --from=build /out/ /
# Not the distroless `nonroot` (65532): a fixed id the chart's securityContext names too.
USER 10001:10001
# The root filesystem is read-only in the cluster; temporary video files go to an emptyDir.
ENV TMPDIR=/tmp \
    BURGERNET_LOG_FORMAT=json \
    BURGERNET_FFMPEG=/usr/bin/ffmpeg \
    BURGERNET_FFPROBE=/usr/bin/ffprobe
EXPOSE 8080 8081
# The binary is PID 1: it handles SIGTERM itself (finish requests, release jobs) and waits for
# every ffmpeg it starts, so no init process is needed.
ENTRYPOINT ["/usr/local/bin/burgernet"]
CMD ["serve"]
