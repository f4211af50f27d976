# Multi-stage build of the one binary, run as a non-root user with a health check (as the seed's).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin apg-workflow

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates curl \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd -r apg && useradd -r -g apg -d /app apg
WORKDIR /app
COPY --from=build /src/target/release/apg-workflow /usr/local/bin/apg-workflow
COPY config ./config
COPY examples ./examples
RUN mkdir -p /app/data /app/logs && chown -R apg:apg /app
USER apg
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
	CMD curl -f http://localhost:5000/health || exit 1
ENTRYPOINT ["apg-workflow"]
CMD ["serve", "--bind", "0.0.0.0"]
