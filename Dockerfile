# nines as a sidecar container. Two targets:
#   docker build --target agent   -t nines:agent   .   # every step kind but browser; a 44 MB binary on distroless (docs/BENCHMARKS.md)
#   docker build --target browser -t nines:browser .   # adds Debian's chromium for browser steps
# CI cannot run Docker, so it runs the build stage's commands outside it
# (.ci/run): keep each stage a plain build or copy.

# --- build: the same command as `make build`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/nines-dev/nines/internal/version.Version=${VERSION}" \
      -o /out/nines ./cmd/nines \
 && /out/nines version

# --- agent: every step kind but browser. Static binary, no shell, user
# 65532. icmp steps need a ping socket (net.ipv4.ping_group_range, which
# Docker 20.10+ opens in a container's own network namespace) or
# CAP_NET_RAW.
FROM gcr.io/distroless/static-debian12:nonroot AS agent
COPY --from=build /out/nines /usr/local/bin/nines
USER nonroot:nonroot
# The agent's state: point spool.dir, store.path and browser.artifacts.dir
# here (relative paths are read from the config's own directory, and
# /etc/nines is no place to write), and mount a volume to keep them.
WORKDIR /var/lib/nines
EXPOSE 9642
# Liveness, checked by the binary itself (no curl): /healthz answers 200
# while the agent runs, through a CloudWatch outage too. Readiness is
# /readyz (`nines health --ready`), for alerting rather than restarts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/nines", "health", "--url", "http://127.0.0.1:9642/healthz"]
# SIGTERM (docker stop, ECS, Kubernetes) lets runs in flight finish and
# flushes the current period and the spool before exit; give it
# stopTimeout / terminationGracePeriodSeconds of 30s or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nines"]
CMD ["run", "-c", "/etc/nines/nines.yaml", "--log-format", "json"]

# --- browser: adds Debian's chromium, with fonts so pages render and
# measure as users see them.
FROM debian:bookworm-slim AS browser
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation fonts-noto-color-emoji ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --create-home --home-dir /var/lib/nines nines
COPY --from=build /out/nines /usr/local/bin/nines
USER 65532:65532
WORKDIR /var/lib/nines
# Not root, so chromium keeps its sandbox; in a container without user
# namespaces add --no-sandbox to browser.flags in the config instead.
ENV HOME=/var/lib/nines
EXPOSE 9642
# Liveness, as in the agent image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/nines", "health", "--url", "http://127.0.0.1:9642/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/nines"]
CMD ["run", "-c", "/etc/nines/nines.yaml", "--log-format", "json"]
