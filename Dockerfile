# ventwatch service image: `docker compose up` builds it.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md sensors.example.yaml ./
COPY ventwatch ventwatch
COPY ingest ingest
COPY analysis analysis
COPY dashboard dashboard
COPY simulator simulator
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/ventwatch ventwatch \
    && mkdir -p /var/lib/ventwatch && chown ventwatch /var/lib/ventwatch
USER ventwatch
EXPOSE 8000
CMD ["ventwatch", "run", "--config", "/etc/ventwatch/site.yaml"]
