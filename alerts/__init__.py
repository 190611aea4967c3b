"""Alerts: rules over the newest minutes of each room, alert state and the rep's workflow in
the state database, and the messages they send; delivering those is `ventwatch.notify`'s."""
