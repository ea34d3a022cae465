# syntax=docker/dockerfile:1
# The gateway on the official Deno image, run as the image's unprivileged
# `deno` user (uid 1993), with a health check on GET /health.
#
#   docker build -t cursor-gateway .
#   docker run --rm -p 8080:8080 -e OPENAI_API_KEY \
#     -v "$PWD/gateway.json:/app/gateway.json:ro" -e GATEWAY_CONFIG=/app/gateway.json \
#     cursor-gateway
#
# `docker stop` sends SIGTERM, which the gateway answers with a graceful
# shutdown; give it more than shutdown_grace_ms (default 30 s):
# `docker stop -t 35`, or `stop_grace_period: 35s` in compose.
ARG DENO_VERSION=2.9.6
FROM denoland/deno:${DENO_VERSION}

WORKDIR /app
# data/ holds the default usage store (a Deno KV file); mount a volume there to keep it.
RUN mkdir -p /app/data && chown -R deno:deno /app
USER deno

# Dependencies first, so a source change does not fetch them again. deno.lock holds
# the server's dependencies only (effect, eventsource-parser, undici, redis); the
# tests' client SDKs are in tests/deno.lock and never reach the image.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno main.ts ./
COPY --chown=deno:deno src/ ./src/
# Caches exactly main.ts's module graph (redis included: it is imported lazily, by name).
RUN deno install --frozen --entrypoint main.ts

ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080
VOLUME ["/app/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["deno", "eval", "--no-config", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8080'}/health`).catch(() => undefined); Deno.exit(r?.ok ? 0 : 1);"]

STOPSIGNAL SIGTERM
# The image's entrypoint (tini, then deno for a deno subcommand) passes signals on: the
# gateway itself gets SIGTERM (no npm or shell in between, which would swallow it).
# deno.json next to main.ts supplies the unstable flags (kv, no-legacy-abort).
CMD ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys", "main.ts"]
