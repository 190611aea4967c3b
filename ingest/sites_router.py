"""Several sites' messages from one broker connection: each message to the site it belongs to.

A trust's sites share one broker and, through it, one subscription: a message does not say
whose it is. The topic says it when a site's sensors publish under a prefix of their own
(`broker.topic_prefix`); otherwise the sensor does, once the message is decoded: the site
whose file lists it (or that assigned it a room) files it. Each site keeps its own `Router`,
so its counters, quarantine, sensors page and presence stay its own, as when it had a
connection of its own.

A message is decoded once, not once per site: sites that decode alike (the same decoders,
time zone and payload limit under the same prefix) form a group sharing what discovery and
attribute messages taught (one topic space), and the group's first router decodes for all of
them. A message whose sensor no site of its topic space knows (an unknown sensor, a discovery
config, a payload no decoder reads) goes to every site of that space, as it did when each
site had its own connection: each can list the sensor as unassigned and assign it a room.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ventwatch.config import SiteConfig
from ventwatch.ingest.bounded import BoundedMap
from ventwatch.ingest.decoders import fewest_filters, subscriptions
from ventwatch.ingest.router import (
    TOPICS_KEPT,
    TOPICS_PER_SENSOR,
    Decoding,
    Message,
    Metadata,
    Refusal,
    Router,
)
from ventwatch.ingest.sensors import SensorKey
from ventwatch.readings import Reading

# Makes a site's router, given the learned facts it shares with the sites that decode alike
# (None: a site decoding unlike any other keeps its own).
RouterFactory = Callable[[SiteConfig, Metadata | None], Router]


@dataclass
class _Group:
    """Sites of one topic space that decode alike: `routers[0]` decodes for all of them."""

    routers: list[Router]
    owner: dict[SensorKey, Router] = field(default_factory=dict)

    def find_owners(self) -> None:
        self.owner = {sensor: r for r in self.routers for sensor in r.rooms}
        # A sensor a site file lists is that site's, whatever another assigned on its pages.
        self.owner.update({sensor: r for r in self.routers for sensor in r.listed})


class SitesRouter:
    """Routes each message to its site's `Router`: by topic prefix, then by sensor. Used from
    one thread, as a `Router` is."""

    def __init__(self, sites: Sequence[SiteConfig], make_router: RouterFactory) -> None:
        groups: dict[tuple[str, str, str, int], list[SiteConfig]] = {}
        for site in sites:
            key = (
                site.broker.topic_prefix or "",
                site.decoders.model_dump_json(),
                site.site.timezone,
                site.broker.max_payload_kib,
            )
            groups.setdefault(key, []).append(site)
        self.routers: dict[str, Router] = {}
        # Topic prefix ("" for none) → its groups.
        self._spaces: dict[str, list[_Group]] = {}
        for (prefix, *_), members in groups.items():
            group = _Group([])
            metadata = _shared_metadata(members, group) if len(members) > 1 else None
            for site in members:
                router = make_router(site, metadata)
                group.routers.append(router)
                self.routers[site.site.name] = router
            group.find_owners()
            self._spaces.setdefault(prefix, []).append(group)
        # Longest first, so that the first prefix a topic starts with is its own.
        self._prefixes = sorted((p for p in self._spaces if p), key=len, reverse=True)
        self._all = [g for groups_ in self._spaces.values() for g in groups_]

    def subscriptions(self) -> list[str]:
        """Every site's topic filters (under its prefix), each once: one subscription set."""
        return fewest_filters(
            topic_filter
            for prefix, groups in self._spaces.items()
            for group in groups
            for topic_filter in subscriptions(group.routers[0].decoders, prefix)
        )

    def route(self, messages: list[Message]) -> list[Reading]:
        """The readings of a batch of messages, in order, each with its own site's name
        (rooms assigned from the dashboard picked up first)."""
        for group in self._all:
            # Every router refreshes (a list, not a short-cut `any`), then owners once.
            if any([router.refresh_rooms() for router in group.routers]):
                group.find_owners()
        self.flush_log()
        return [r for msg in messages for r in self.readings_of(msg)]

    def flush_log(self) -> None:
        for router in self.routers.values():
            router.flush_log()

    def readings_of(self, msg: Message) -> list[Reading]:
        prefix = next((p for p in self._prefixes if msg.topic.startswith(p + "/")), "")
        if prefix:
            # The site's decoders read the topic as its sensors publish it.
            msg = Message(msg.topic[len(prefix) + 1 :], msg.payload, msg.arrived, msg.ack)
        # A topic under no site's prefix only reaches us through a filter of the unprefixed
        # sites; without any, every site hears of it (it counts somewhere, with its reason).
        groups = self._spaces.get(prefix) or self._all
        found = [(group, group.routers[0].decode(msg)) for group in groups]
        owners = [
            (group.owner[sensor], decoding)
            for group, decoding in found
            if isinstance(decoding, Decoding)
            for sensor in decoding.sensors()
            if sensor in group.owner
        ]
        out: list[Reading] = []
        if owners:
            filed: set[int] = set()
            for router, decoding in owners:  # one, but for a message of several sites' sensors
                if id(router) not in filed:
                    filed.add(id(router))
                    out.extend(router.file(msg, decoding))
            return out
        for group, outcome in found:
            for router in group.routers:
                if isinstance(outcome, Refusal):
                    router.refuse(msg, outcome)
                else:
                    out.extend(router.file(msg, outcome))
        return out

    def refused(self, reading: Reading, reason: str) -> None:
        """The store refuses a reading: its site keeps it (the first site, for a reading
        spooled by a site this process no longer runs)."""
        router = self.routers.get(reading.site) or next(iter(self.routers.values()))
        router.refused(reading, reason)


def _shared_metadata(members: Sequence[SiteConfig], group: _Group) -> Metadata:
    """One map of learned facts for the sites of a group, bounded as a site's is by the
    sensors of them all; a topic one of their sensors publishes on is kept."""
    own = sum(len(site.sensors) for site in members)
    return BoundedMap(
        max(TOPICS_KEPT, TOPICS_PER_SENSOR * own),
        keep=lambda topic, _: any(router.knows(topic) for router in group.routers),
    )
