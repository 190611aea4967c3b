"""One router per area of the dashboard (overview, JSON API, health; later: logins, charts)."""
