"""The alerts section of a site file and the VENTWATCH_SMTP_URL contract: the documented
example is valid, mistakes are reported with file and line, secrets stay in the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ventwatch.analysis.profiles import alert_rule_ids
from ventwatch.config import SiteConfigError, load_site
from ventwatch.ingest.decoders import FAMILIES
from ventwatch.settings import SettingsError, parse_smtp_url, resolve


def uncommented(example: Path, tmp_path: Path) -> Path:
    """The example with its commented alerts section switched on."""
    lines = example.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# alerts:"))
    out = lines[:start] + [line.removeprefix("# ") for line in lines[start:]]
    path = tmp_path / "site.yaml"
    path.write_text("\n".join(out) + "\n")
    return path


def test_the_documented_alerts_section_is_valid(example_site_path: Path, tmp_path: Path) -> None:
    site = load_site(uncommented(example_site_path, tmp_path), families=FAMILIES)
    alerts = site.alerts
    assert alerts.smtp is not None
    assert alerts.smtp.security == "starttls"
    assert [r.name for r in alerts.ladder] == ["Site manager", "Head teacher", "Trust H&S lead"]
    assert [s.channel for s in alerts.subscriptions] == [
        "email", "email", "mqtt_topic", "webhook", "apprise_env"
    ]  # fmt: skip
    assert alerts.subscriptions[1].delivery == "digest"
    settings = resolve(
        site, None, env={"VENTWATCH_SMTP_USERNAME": "vw", "VENTWATCH_SMTP_PASSWORD": "pw"}
    )
    assert settings.smtp is not None
    assert (settings.smtp.username, settings.smtp.password) == ("vw", "pw")
    assert "pw" not in str(settings.smtp)
    assert settings.dashboard_url == "https://ventwatch.hillside.example"
    weekly = site.reports.weekly_email
    assert weekly is not None
    assert (weekly.day, weekly.attach) == ("mon", ["pdf", "xlsx"])
    assert [r.email for r in weekly.recipients] == [
        "staff@hillside.example", "hs.committee@hillside.example"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("rule: co2-advisory, rooms: [Music]", "rule: co2-advice, rooms: [Music]", "no alert rule"),
        ("rooms: [Music], threshold: 700", "rooms: [Musik], threshold: 700", "unknown room"),
        ("buildings: [Science]", "buildings: [Sciense]", "unknown building"),
        ("email: neu.rep@hillside.example,", "email: neu.rep,", "not an email address"),
        (
            "mqtt_topic: hillside/ventwatch/alerts,",
            "mqtt_topic: hillside/#, email: a@b.c,",
            "no + or #",
        ),
        ("name: BMS, mqtt_topic", "name: BMS, email: x@y.z, mqtt_topic", "exactly one of"),
        ("severities: [urgent, advisory]}", "severities: [loud]}", "urgent, advisory or info"),
        ("secret_env: VENTWATCH_WEBHOOK_SECRET", "secret_env: s3cr3t", "environment variable"),
        ('quiet_hours: {start: "18:00"', 'quiet_hours: {start: "25:00"', "quiet_hours.start"),
        ("security: starttls", "security: tls", "`tls` is not one of plain, starttls or ssl"),
    ],
)
def test_alert_mistakes_name_file_and_line(
    example_site_path: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = uncommented(example_site_path, tmp_path)
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if old in line)
    lines[number - 1] = lines[number - 1].replace(old, new)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SiteConfigError) as info:
        load_site(path, families=FAMILIES, profiles=alert_rule_ids())
    text = str(info.value)
    assert f"{path}:{number}:" in text, text
    assert message in text


def test_smtp_url_contract() -> None:
    plain = parse_smtp_url("smtp://relay.local:25?from=vw@school.example")
    assert (plain.host, plain.port, plain.security, plain.sender) == (
        "relay.local", 25, "plain", "vw@school.example"
    )  # fmt: skip
    assert plain.username is None
    tls = parse_smtp_url("smtp://u%40x:p%2Fw@mail.example:587?from=a@b.c&starttls=1")
    assert (tls.security, tls.username, tls.password, tls.port) == ("starttls", "u@x", "p/w", 587)
    ssl = parse_smtp_url("smtps://mail.example?from=a@b.c")
    assert (ssl.security, ssl.port) == ("ssl", 465)
    assert "p/w" not in str(tls)
    assert str(tls) == "smtp://u@x@mail.example:587?from=a@b.c&starttls=1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail:25?from=a@b.c", "must be smtp[s]://"),
        ("smtp://mail:25", "needs ?from=ADDRESS"),
        ("smtp://mail:25?from=nobody", "needs ?from=ADDRESS"),
        ("smtp://mail:25?from=a@b.c&starttls=yes", "starttls must be 0 or 1"),
        ("smtps://mail?from=a@b.c&starttls=1", "SSL already"),
        ("smtp://mail:99999?from=a@b.c", "VENTWATCH_SMTP_URL"),
        ("smtp://mail?from=a@b.c&tls=1", "unknown parameter"),
        ("smtp://?from=a@b.c", "no host"),
    ],
)
def test_smtp_url_mistakes(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match="VENTWATCH_SMTP_URL") as info:
        parse_smtp_url(url)
    assert message in str(info.value)


def test_the_environment_wins_over_the_site_file(example_site_path: Path, tmp_path: Path) -> None:
    site = load_site(uncommented(example_site_path, tmp_path), families=FAMILIES)
    settings = resolve(site, None, env={"VENTWATCH_SMTP_URL": "smtps://relay:2465?from=x@y.z"})
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "relay",
        2465,
        "ssl",
    )


@given(
    st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
    st.integers(1, 65535),
    st.from_regex(r"[a-z0-9._]{1,10}@[a-z0-9.-]{1,10}", fullmatch=True),
    st.booleans(),
)
def test_any_valid_url_round_trips(host: str, port: int, sender: str, starttls: bool) -> None:
    url = f"smtp://{host}:{port}?from={sender}" + ("&starttls=1" if starttls else "")
    parsed = parse_smtp_url(url)
    assert (parsed.host, parsed.port, parsed.sender) == (host, port, sender)
    assert parsed.security == ("starttls" if starttls else "plain")
    assert str(parsed) == url
