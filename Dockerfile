# cs-gateway: the gateway alone. Key material and configuration are mounted, never baked in.
#   docker build -t cs-gateway .
#   docker run -p 50051:50051 -v $PWD/deploy:/etc/cs-gateway:ro -v cs-data:/var/lib/cs-gateway \
#       cs-gateway serve --config /etc/cs-gateway/gateway.toml
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY cs_gateway ./cs_gateway
COPY pki ./pki
COPY clients ./clients
COPY policy ./policy
RUN python -m pip install --no-cache-dir --disable-pip-version-check --prefix=/install \
        -c requirements.lock .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 cs && useradd --system --uid 10001 --gid cs --home /var/lib/cs-gateway cs \
    && mkdir -p /var/lib/cs-gateway /etc/cs-gateway && chown cs:cs /var/lib/cs-gateway
COPY --from=build /install /usr/local
USER cs:cs
WORKDIR /var/lib/cs-gateway
VOLUME ["/var/lib/cs-gateway"]
EXPOSE 50051
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["cs-gateway"]
CMD ["serve", "--config", "/etc/cs-gateway/gateway.toml"]
