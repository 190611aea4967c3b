# ventwatch service image: `docker compose up` builds it.
FROM python:3.11-slim
WORKDIR /app
# Chromium prints PDF reports (WeasyPrint, with Pango, is the fallback); DejaVu for both.
RUN apt-get update && apt-get install -y --no-install-recommends chromium libpango-1.0-0 \
    libpangoft2-1.0-0 fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md sensors.example.yaml ./
COPY ventwatch ventwatch
COPY ingest ingest
COPY analysis analysis
COPY alerts alerts
COPY notify notify
COPY reports reports
COPY dashboard dashboard
COPY simulator simulator
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/ventwatch ventwatch \
    && mkdir -p /var/lib/ventwatch && chown ventwatch /var/lib/ventwatch
USER ventwatch
EXPOSE 8000
CMD ["ventwatch", "run", "--config", "/etc/ventwatch/site.yaml"]
