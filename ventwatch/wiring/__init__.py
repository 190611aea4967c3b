"""What runs the stages, above every one of them and below the command line: the service that
starts ingest, alerting and the dashboard in one process (`service`), and the demo's stand-ins
for what a real site has (an MQTT broker, a mail server, a user per role)."""
