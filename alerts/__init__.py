"""Alerts: rules over the newest minutes of each room, alert state and the rep's workflow in
the project's SQLite file, and delivery of messages (email, webhook, MQTT, apprise)."""
