"""What a global deployment is: its regions and users, each dataset's placement and replication, a failure.

A platform runs in several regions; its users live near one of them (``user_shares``). Each
:class:`Dataset` — posts, like counts, direct messages, feeds — has a data class (personal
data, public content, aggregates), a place (the regions holding a copy), a topology and a
replication mode:

==================  ========================================================================
topology
==================  ========================================================================
active_passive      every write goes to ``primary``; the other replicas copy it and serve reads
active_active       every replica takes writes, from the users nearest to it; concurrent writes
                    to one key at two replicas conflict
hub_and_spoke       every replica takes writes from the users nearest to it, as in active_active,
                    but sends them to ``primary`` (the hub) only, which sends them on to the
                    other spokes: two hops between spokes (Kafka MirrorMaker's aggregation
                    pattern); asynchronous only
geo_partitioned     each user's data lives in their home region, copied to the ``copies - 1``
                    nearest other regions — within the EEA for a user whose home is there
==================  ========================================================================

==========  ===================================================================================
mode
==========  ===================================================================================
async       the write commits where it lands; replicas get it later (replication lag)
sync        the write commits once every replica has it: the farthest replica's round trip
quorum      the write commits once ``quorum`` other replicas have it: the k-th smallest round
            trip from where it lands
==========  ===================================================================================

A conflict between concurrent writes is resolved by last-writer-wins (``lww``: the later
timestamp wins, the other write is lost) or, for counters and sets, by a CRDT merge
(``crdt``: nothing lost). One region can fail at ``failure_at_s``; it is detected after
``missed_heartbeats`` heartbeats, a replica is promoted (``promotion_s``), and it fails back
``failure_duration_s`` after it failed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from messagelab.multiregion.regions import REGIONS, personal_data_may_go
from messagelab.sim.config import FrozenConfig
from messagelab.sim.validation import ConfigError, check_choice, check_number, check_run_size

DATA_CLASSES = ("personal", "public", "aggregate")
KINDS = ("register", "counter", "set")
TOPOLOGIES = ("active_passive", "active_active", "hub_and_spoke", "geo_partitioned")
MODES = ("async", "sync", "quorum")
CONFLICTS = ("lww", "crdt")
#: Topologies whose writes all go through one region (``primary``).
SINGLE_WRITER = ("active_passive",)
#: Topologies with a ``primary``: the writer, or the hub every copy goes through.
WITH_PRIMARY = ("active_passive", "hub_and_spoke")


@dataclass(frozen=True)
class Dataset:
    """One dataset of the platform and its design: where its copies are, how writes reach them."""

    name: str = "posts"
    data_class: str = "public"
    #: register: each write replaces the value (a post, a profile); counter: each write adds one
    #: (a like); set: each write adds an element (a follower).
    kind: str = "register"
    topology: str = "active_active"
    mode: str = "async"
    #: The regions holding a copy (geo_partitioned: ignored, see ``copies``).
    replicas: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-northeast-1")
    #: The writer of active_passive and the hub of hub_and_spoke.
    primary: str = "us-east-1"
    #: quorum mode: the other replicas that must have a write before it commits.
    quorum: int = 1
    #: geo_partitioned: copies of each user's data, the home region's included.
    copies: int = 2
    conflict: str = "lww"
    #: This dataset's share of the platform's writes.
    write_share: float = 1.0
    #: Reads of this dataset per write of it.
    reads_per_write: float = 5.0
    size_kb: float = 2.0
    #: Keys (posts, counters …) the writes fall on, the popular ones more often (Zipf).
    keys: int = 10_000

    def validate(self, regions: tuple[str, ...], prefix: str) -> None:
        """Raise ConfigError naming ``prefix.field`` for a value the design cannot have."""
        check_choice(f"{prefix}.data_class", self.data_class, DATA_CLASSES)
        check_choice(f"{prefix}.kind", self.kind, KINDS)
        check_choice(f"{prefix}.topology", self.topology, TOPOLOGIES)
        check_choice(f"{prefix}.mode", self.mode, MODES)
        check_choice(f"{prefix}.conflict", self.conflict, CONFLICTS)
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"{prefix}.name", self.name, "a non-empty name")
        if self.conflict == "crdt" and self.kind == "register":
            raise ConfigError(f"{prefix}.conflict", self.conflict, "'lww' for a register",
                              "a CRDT merge is defined for counters and sets; a register keeps one value")
        if self.topology != "geo_partitioned":
            if not isinstance(self.replicas, tuple) or not self.replicas:
                raise ConfigError(f"{prefix}.replicas", self.replicas, "a non-empty tuple of the deployment's regions")
            for r in self.replicas:
                check_choice(f"{prefix}.replicas", r, regions, "a replica must be in one of the deployment's regions")
            if len(set(self.replicas)) != len(self.replicas):
                raise ConfigError(f"{prefix}.replicas", self.replicas, "each region once")
        if self.topology in WITH_PRIMARY:
            check_choice(f"{prefix}.primary", self.primary, self.replicas, "the primary holds a copy")
        if self.topology == "hub_and_spoke" and self.mode != "async":
            raise ConfigError(f"{prefix}.mode", self.mode, "'async' for hub_and_spoke",
                              "the hub forwards copies after it has them; no spoke waits for another")
        others = (self.copies if self.topology == "geo_partitioned" else len(self.replicas)) - 1
        if self.mode == "quorum":
            check_number(f"{prefix}.quorum", self.quorum, 1, max(others, 1), integer=True,
                         why="other replicas that must acknowledge a write")
            if others < 1:
                raise ConfigError(f"{prefix}.mode", self.mode, "'async' or 'sync' for a single copy",
                                  "a quorum needs other replicas")
        check_number(f"{prefix}.copies", self.copies, 1, len(regions), integer=True)
        check_number(f"{prefix}.write_share", self.write_share, 0, 1, low_open=True)
        check_number(f"{prefix}.reads_per_write", self.reads_per_write, 0, 1000)
        check_number(f"{prefix}.size_kb", self.size_kb, 0, 400, low_open=True, unit="KB",
                     why="DynamoDB's item limit is 400 KB")
        check_number(f"{prefix}.keys", self.keys, 1, 10_000_000, integer=True)


def _dataset(value: Any) -> Any:
    """A Dataset from a dict (as ``to_dict`` gives it back), lists of regions as tuples."""
    if isinstance(value, dict):
        fields = {f.name for f in dataclasses.fields(Dataset)}
        unknown = sorted(set(value) - fields)
        if unknown:
            raise ConfigError("datasets", value, "fields of a Dataset: " + ", ".join(sorted(fields)))
        value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        return Dataset(**value)
    return value


@dataclass(frozen=True)
class MultiRegionConfig(FrozenConfig):
    """A global platform's deployment, its load, its datasets' design and a region's failure."""

    #: The regions the platform runs in; its users live near one of them.
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-northeast-1")
    #: Share of the users (and of their reads and writes) near each region, in ``regions`` order.
    user_shares: tuple[float, ...] = (0.4, 0.35, 0.25)
    writes_per_s: float = 100.0
    duration_s: float = 300.0
    datasets: tuple[Dataset, ...] = field(default_factory=lambda: (Dataset(),))
    #: How long a write waits in the replication pipeline of the region it lands in before it is
    #: sent (mean, ms; exponential): DynamoDB global tables usually replicate within a second.
    replication_delay_ms: float = 200.0
    #: Coefficient of variation of every round trip around its published mean (0: exactly the matrix).
    rtt_jitter_cv: float = 0.1
    #: A user reads back what they wrote this long after writing it (mean, s; exponential).
    read_back_s: float = 1.0
    #: The region that fails (None: no failure), when, and for how long.
    failed_region: str | None = None
    failure_at_s: float = 120.0
    failure_duration_s: float = 120.0
    heartbeat_interval_s: float = 1.0
    missed_heartbeats: int = 3
    #: Promoting a replica to writer (Aurora Global Database: under a minute).
    promotion_s: float = 30.0
    #: Clients reach a new region once their cached DNS answer expires.
    dns_ttl_s: float = 60.0
    #: The organisation is certified under the EU–US Data Privacy Framework.
    dpf_certified: bool = False
    #: Standard contractual clauses (GDPR Art. 46) cover transfers out of the EEA.
    transfer_safeguards: bool = False
    sample_interval_s: float = 1.0

    def __post_init__(self) -> None:
        # to_dict gives datasets back as dicts; the constructor takes them in either form.
        if isinstance(self.datasets, list | tuple):
            object.__setattr__(self, "datasets", tuple(_dataset(d) for d in self.datasets))
        for name in ("regions", "user_shares"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        super().__post_init__()

    def validate(self) -> None:
        if not isinstance(self.regions, tuple) or not self.regions:
            raise ConfigError("regions", self.regions, "a non-empty tuple of region codes")
        for r in self.regions:
            if r not in REGIONS:
                raise ConfigError("regions", self.regions, "region codes among " + ", ".join(REGIONS),
                                  f"{r!r} is not one")
        if len(set(self.regions)) != len(self.regions):
            raise ConfigError("regions", self.regions, "each region once")
        if not isinstance(self.user_shares, tuple) or len(self.user_shares) != len(self.regions):
            raise ConfigError("user_shares", self.user_shares, f"{len(self.regions)} shares, one per region")
        if not all(isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 1 for x in self.user_shares):
            raise ConfigError("user_shares", self.user_shares, "shares between 0 and 1")
        if abs(sum(self.user_shares) - 1) > 1e-6:
            raise ConfigError("user_shares", self.user_shares, "shares that add up to 1")
        check_number("writes_per_s", self.writes_per_s, 0, 100_000, low_open=True, unit="writes/s")
        check_number("duration_s", self.duration_s, 1, 30 * 86400, unit="s")
        if not isinstance(self.datasets, tuple) or not self.datasets:
            raise ConfigError("datasets", self.datasets, "a non-empty tuple of Dataset")
        names = [getattr(d, "name", None) for d in self.datasets]
        if len(set(names)) != len(names):
            raise ConfigError("datasets", names, "datasets with distinct names")
        for d in self.datasets:
            if not isinstance(d, Dataset):
                raise ConfigError("datasets", d, "a Dataset (or its dict)")
            d.validate(self.regions, f"datasets[{d.name}]")
        for d in self.datasets:
            if d.topology == "geo_partitioned" and d.data_class == "personal":
                self._check_lawful_copies(d)
        if abs(sum(d.write_share for d in self.datasets) - 1) > 1e-6:
            raise ConfigError("datasets", [d.write_share for d in self.datasets], "write shares that add up to 1")
        check_number("replication_delay_ms", self.replication_delay_ms, 0, 3_600_000, unit="ms")
        check_number("rtt_jitter_cv", self.rtt_jitter_cv, 0, 2)
        check_number("read_back_s", self.read_back_s, 0, 3600, low_open=True, unit="s")
        if self.failed_region is not None:
            check_choice("failed_region", self.failed_region, self.regions)
        check_number("failure_at_s", self.failure_at_s, 0, self.duration_s if self.failed_region else 30 * 86400,
                     unit="s", why="within the run" if self.failed_region else "")
        check_number("failure_duration_s", self.failure_duration_s, 1, 30 * 86400, unit="s")
        check_number("heartbeat_interval_s", self.heartbeat_interval_s, 0.01, 3600, unit="s")
        check_number("missed_heartbeats", self.missed_heartbeats, 1, 100, integer=True)
        check_number("promotion_s", self.promotion_s, 0, 86400, unit="s")
        check_number("dns_ttl_s", self.dns_ttl_s, 0, 86400, unit="s")
        check_choice("dpf_certified", self.dpf_certified, (False, True))
        check_choice("transfer_safeguards", self.transfer_safeguards, (False, True))
        check_number("sample_interval_s", self.sample_interval_s, 0.1, 3600, unit="s")
        check_run_size("duration_s", self.duration_s, self.writes_per_s * self.duration_s, "writes",
                       allowed="a shorter run or fewer writes per second")

    def _check_lawful_copies(self, d: Dataset) -> None:
        """A geo-partitioned user's personal data needs as many regions it may lawfully be stored in as copies."""
        for home, share in zip(self.regions, self.user_shares, strict=True):
            lawful = sum(1 for r in self.regions if r == home or personal_data_may_go(
                home, r, dpf_certified=self.dpf_certified, safeguards=self.transfer_safeguards))
            if share > 0 and d.copies > lawful:
                raise ConfigError(f"datasets[{d.name}].copies", d.copies, f"at most {lawful}",
                                  f"personal data of users near {home} may be stored in only {lawful} of the "
                                  "deployment's regions (GDPR Chapter V)")

    def dataset(self, name: str) -> Dataset:
        """The dataset called ``name``."""
        for d in self.datasets:
            if d.name == name:
                return d
        raise KeyError(name)
