"""What each firmware family really publishes, built from a room's simulated air.

The shapes follow ../shared/payloads/ (and the firmware's documentation): the simulator is only
useful if ingest sees exactly what a school's sensors send. Each family has a `reading`
builder (one measurement → MQTT messages) and a `hello` builder (the presence message a
device sends when it comes online, retained as the firmware does).
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# (topic, payload, retain)
Message = tuple[str, bytes, bool]


@dataclass(frozen=True, slots=True)
class Measured:
    """What a sensor measured, before its firmware formats it."""

    co2_ppm: float
    temperature_c: float
    humidity_pct: float
    when: datetime  # aware
    sequence: int  # how many messages this sensor has sent: boot counters, link quality


def _dew_point(temperature_c: float, humidity_pct: float) -> float:
    """Magnus formula, as Tasmota computes DewPoint."""
    a, b = 17.62, 243.12
    gamma = math.log(max(humidity_pct, 1.0) / 100.0) + a * temperature_c / (b + temperature_c)
    return b * gamma / (a - gamma)


def _json(data: Mapping[str, object]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def tasmota(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    # Tasmota's Time is local time without an offset (SetOption52 off, the default).
    local = m.when.astimezone(tz).replace(tzinfo=None, microsecond=0)
    co2 = round(m.co2_ppm)
    payload = {
        "Time": local.isoformat(),
        "SCD40": {
            "CarbonDioxide": co2,
            "eCO2": co2,
            "Temperature": round(m.temperature_c, 1),
            "Humidity": round(m.humidity_pct, 1),
            "DewPoint": round(_dew_point(m.temperature_c, m.humidity_pct), 1),
        },
        "TempUnit": "C",
    }
    return [(f"tele/{device}/SENSOR", _json(payload), False)]


def tasmota_hello(device: str) -> list[Message]:
    return [(f"tele/{device}/LWT", b"Online", True)]


def zigbee2mqtt(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    last_seen = m.when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = {
        "battery": max(5, 97 - m.sequence // 500),
        "co2": round(m.co2_ppm),
        "humidity": round(m.humidity_pct, 1),
        "linkquality": 90 + (m.sequence * 37) % 80,
        "temperature": round(m.temperature_c, 1),
        "voc": 80 + (m.sequence * 13) % 60,
        "last_seen": last_seen,
    }
    return [(f"zigbee2mqtt/{device}", _json(payload), True)]


def zigbee2mqtt_hello(device: str) -> list[Message]:
    return [(f"zigbee2mqtt/{device}/availability", b'{"state":"online"}', True)]


def airgradient(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    # The raw SHT reading sits inside the case, warmer and drier than the room: the
    # compensated values are the room's.
    payload = {
        "wifi": -50 - (m.sequence * 7) % 15,
        "serialno": device,
        "rco2": round(m.co2_ppm),
        "pm01": 2,
        "pm02": 3,
        "pm10": 3,
        "pm003Count": 410,
        "atmp": round(m.temperature_c + 1.6, 2),
        "atmpCompensated": round(m.temperature_c, 2),
        "rhum": round(m.humidity_pct - 6),
        "rhumCompensated": round(m.humidity_pct),
        "tvocIndex": 96,
        "noxIndex": 1,
        "boot": m.sequence,
        "model": "I-9PSL",
        "firmware": "3.1.9",
    }
    return [(f"airgradient/readings/{device}", _json(payload), False)]


def esphome(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    return [
        (f"{device}/sensor/co2/state", f"{round(m.co2_ppm)}".encode(), False),
        (f"{device}/sensor/temperature/state", f"{m.temperature_c:.1f}".encode(), False),
        (f"{device}/sensor/humidity/state", f"{m.humidity_pct:.1f}".encode(), False),
    ]


def esphome_hello(device: str) -> list[Message]:
    return [(f"{device}/status", b"online", True)]


def theengs(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    payload = {
        "id": device,
        "name": "Aranet4",
        "rssi": -70 - (m.sequence * 3) % 15,
        # As theengs/decoder's ARANET4_json.h names the device.
        "brand": "Aranet",
        "model": "Aranet4 CO₂ Monitor",
        "model_id": "ARANET4",
        "co2": round(m.co2_ppm),
        "tempc": round(m.temperature_c, 2),
        "tempf": round(m.temperature_c * 9 / 5 + 32, 2),
        "hum": round(m.humidity_pct),
        "pres": 1012.4,
        "batt": 88,
    }
    mac = device.replace(":", "")
    return [(f"home/TheengsGateway/BTtoMQTT/{mac}", _json(payload), False)]


# The Things Stack application the school's LoRaWAN devices are registered in.
TTN_APPLICATION = "school-air"


def ttn(device: str, m: Measured, tz: ZoneInfo) -> list[Message]:
    """A Milesight AM319's uplink through The Things Stack v3: the bytes the device sends
    (channel, type, little-endian value, as `Milesight-IoT/SensorDecoders`' AM300 decoder
    reads them) and what the application's payload formatter made of them, so the two agree
    to the formatter's resolution (0.1 °C, 0.5 %, 0.1 hPa)."""
    battery = max(5, 98 - m.sequence // 300)
    temperature = round(m.temperature_c * 10)
    humidity = round(m.humidity_pct * 2)
    co2 = round(m.co2_ppm)
    tvoc, light_level, pressure = 110, 3, 10124
    frame = struct.pack(
        "<BBB BBh BBB BBB BBB BBH BBH BBH",
        *(0x01, 0x75, battery, 0x03, 0x67, temperature, 0x04, 0x68, humidity),
        *(0x05, 0x00, 0, 0x06, 0xCB, light_level, 0x07, 0x7D, co2),
        *(0x08, 0x7D, tvoc, 0x09, 0x73, pressure),
    )
    decoded = {
        "battery": battery,
        "temperature": temperature / 10,
        "humidity": humidity / 2,
        "pir": "idle",
        "light_level": light_level,
        "co2": co2,
        "tvoc": tvoc,
        "pressure": pressure / 10,
    }
    # Nanoseconds, trailing zeros trimmed, as The Things Stack writes its times.
    received = m.when.astimezone(UTC)
    fraction = f"{received.microsecond:06d}{m.sequence * 389 % 1000:03d}".rstrip("0")
    received_at = f"{received:%Y-%m-%dT%H:%M:%S}{'.' if fraction else ''}{fraction}Z"
    serial = zlib.crc32(device.encode())
    rssi = -88 - (m.sequence * 7) % 20
    uplink = {
        "end_device_ids": {
            "device_id": device,
            "application_ids": {"application_id": TTN_APPLICATION},
            "dev_eui": f"24E12470{serial:08X}",  # Milesight's OUI
            "dev_addr": f"260B{serial & 0xFFFF:04X}",
        },
        "received_at": received_at,
        "uplink_message": {
            "f_port": 85,
            "f_cnt": m.sequence,
            "frm_payload": base64.b64encode(frame).decode(),
            "decoded_payload": decoded,
            "rx_metadata": [
                {
                    "gateway_ids": {"gateway_id": "school-gw"},
                    "rssi": rssi,
                    "channel_rssi": rssi,
                    "snr": 9.5 - m.sequence % 7,
                }
            ],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}},
                "frequency": "868100000",
            },
            "received_at": received_at,
        },
    }
    return [(f"v3/{TTN_APPLICATION}@ttn/devices/{device}/up", _json(uplink), False)]


def _no_hello(device: str) -> list[Message]:
    return []


Reading = Callable[[str, Measured, ZoneInfo], list[Message]]
Hello = Callable[[str], list[Message]]

# The families the simulator can play; a site sensor of another family is left out (and said).
FAMILIES: dict[str, tuple[Reading, Hello]] = {
    "tasmota": (tasmota, tasmota_hello),
    "zigbee2mqtt": (zigbee2mqtt, zigbee2mqtt_hello),
    "airgradient": (airgradient, _no_hello),
    "esphome": (esphome, esphome_hello),
    "theengs": (theengs, _no_hello),
    # The network server sends no presence per device.
    "ttn": (ttn, _no_hello),
}


def garbage(kind: int, good: list[Message]) -> list[Message]:
    """A faulty sensor's message in place of `good`: cut short, binary noise, or a CO2 value
    no sensor can measure. Ingest must count and keep each, never crash or store it."""
    topic, payload, _ = good[0]
    if kind % 3 == 0:
        return [(topic, payload[: len(payload) // 2], False)]
    if kind % 3 == 1:
        return [(topic, b"\x00\xff\xfe garbage \x01", False)]
    text = payload.decode()
    # A CO2 chip's fault code in place of its value; other values of the message stay good.
    for key in ('"CarbonDioxide":', '"co2":', '"rco2":'):
        if key in text:
            start = text.index(key) + len(key)
            end = start + len(text[start:].split(",")[0].split("}")[0])
            return [(topic, (text[:start] + "40000" + text[end:]).encode(), False)]
    return [(topic, b"40000", False)]
