#!/bin/bash
# Run once by the influxdb:2.x image right after its initial setup (compose mounts it into
# /docker-entrypoint-initdb.d/). InfluxDB 2.x serves the v1 API ventwatch uses (/write?db=...,
# InfluxQL /query) only for a database mapped to a bucket: map database `ventwatch`, retention
# policy `autogen`, to the bucket the setup created.
set -euo pipefail

influx v1 dbrp create \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db ventwatch \
  --rp autogen \
  --default \
  --org "${DOCKER_INFLUXDB_INIT_ORG}"
