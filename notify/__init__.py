"""Delivery: getting a message to the people who asked for it, whatever the message says.

A `Notice` (`notices`) is the message every channel sends its part of; `channels` sends one
to one recipient (email, webhook, MQTT, apprise); the `outbox` keeps it in the state
database until it is sent, retrying with back-off; `rendering` holds what every email's HTML
is rendered with. Alerts and reports both send through here, and nothing here knows what an
alert or a report is (an outbox row's alert id is only data), so delivery sits below both.
"""
