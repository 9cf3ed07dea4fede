"""Where a global platform runs: cloud regions, the round trips between them, what moving data costs.

Eight AWS regions on five continents. For each: where it is (for the map), the country whose
law applies to data stored there, whether that country is in the European Economic Area (EEA)
or has an EU adequacy decision, and the price of sending data from it to another region.

**Round-trip times.** ``RTT_MS`` holds average round-trip times between the regions in
milliseconds, as published in April 2017 from measurements between EC2 instances in each
pair of regions (the table "Latency Between AWS Global Regions", reproduced at
acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html). The published table has
one figure per direction; the two differ by at most a few milliseconds, and ``RTT_MS`` keeps
their mean. Routes change: several pairs are faster today (Frankfurt–Singapore was routed
through the United States then and is about half as far now), so the figures are a dated,
cited snapshot, not today's network. A round trip within a region (between its availability
zones) is ``INTRA_REGION_RTT_MS``.

**Transfer prices.** ``Region.transfer_usd_per_gb`` is AWS's on-demand price for data sent
from the region to another AWS region (EC2 data transfer "to other AWS regions", as listed in
2024); AWS bills it on the sending region only (AWS Global Network FAQs: "For DTO and DTIR, we
charge for data transfer only based on the source Region"), and receiving is free.

**Data protection.** GDPR Chapter V (Art. 44–49): personal data leaves the EEA only to a
country with an adequacy decision (Art. 45), under appropriate safeguards such as standard
contractual clauses (Art. 46), or under narrow exceptions (Art. 49). Japan has had an
adequacy decision since 2019; the United States has one only for organisations certified
under the EU–US Data Privacy Framework (2023); Singapore, Australia and Brazil have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

#: A round trip between two availability zones of one region (ms).
INTRA_REGION_RTT_MS = 1.0


@dataclass(frozen=True)
class Region:
    """One cloud region: where it is, whose law applies, what sending data from it costs."""

    code: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    continent: str
    lat: float
    lon: float
    #: In the European Economic Area: EU personal data may be stored here.
    eea: bool
    #: Outside the EEA, an EU adequacy decision (GDPR Art. 45) covers this country; "dpf" when it
    #: covers only organisations certified under the EU–US Data Privacy Framework.
    adequacy: str
    transfer_usd_per_gb: float

    @property
    def label(self) -> str:
        """"eu-west-1 (Ireland)"."""
        return f"{self.code} ({self.city})"


REGIONS: dict[str, Region] = {r.code: r for r in (
    Region("us-east-1", "N. Virginia", "US", "North America", 38.9, -77.4, False, "dpf", 0.02),
    Region("us-west-2", "Oregon", "US", "North America", 45.8, -119.7, False, "dpf", 0.02),
    Region("eu-west-1", "Ireland", "IE", "Europe", 53.3, -6.3, True, "", 0.02),
    Region("eu-central-1", "Frankfurt", "DE", "Europe", 50.1, 8.7, True, "", 0.02),
    Region("ap-northeast-1", "Tokyo", "JP", "Asia", 35.7, 139.7, False, "yes", 0.09),
    Region("ap-southeast-1", "Singapore", "SG", "Asia", 1.35, 103.8, False, "no", 0.09),
    Region("ap-southeast-2", "Sydney", "AU", "Oceania", -33.9, 151.2, False, "no", 0.098),
    Region("sa-east-1", "São Paulo", "BR", "South America", -23.5, -46.6, False, "no", 0.138),
)}

#: The published one-way-direction figures (ms), row → column, for the pairs of ``REGIONS``.
_PUBLISHED_MS: dict[tuple[str, str], tuple[float, float]] = {
    ("us-east-1", "us-west-2"): (86.98, 88.68),
    ("us-east-1", "eu-west-1"): (80.55, 80.52),
    ("us-east-1", "eu-central-1"): (88.66, 88.62),
    ("us-east-1", "ap-northeast-1"): (145.3, 145.3),
    ("us-east-1", "ap-southeast-1"): (216.7, 216.7),
    ("us-east-1", "ap-southeast-2"): (230.0, 229.7),
    ("us-east-1", "sa-east-1"): (119.5, 119.5),
    ("us-west-2", "eu-west-1"): (137.0, 137.0),
    ("us-west-2", "eu-central-1"): (159.5, 159.5),
    ("us-west-2", "ap-northeast-1"): (89.1, 89.16),
    ("us-west-2", "ap-southeast-1"): (161.4, 161.4),
    ("us-west-2", "ap-southeast-2"): (162.2, 161.9),
    ("us-west-2", "sa-east-1"): (182.7, 182.7),
    ("eu-west-1", "eu-central-1"): (19.56, 19.55),
    ("eu-west-1", "ap-northeast-1"): (212.4, 212.4),
    ("eu-west-1", "ap-southeast-1"): (239.0, 238.1),
    ("eu-west-1", "ap-southeast-2"): (309.6, 309.6),
    ("eu-west-1", "sa-east-1"): (191.3, 191.3),
    ("eu-central-1", "ap-northeast-1"): (236.5, 236.6),
    ("eu-central-1", "ap-southeast-1"): (325.9, 325.9),
    ("eu-central-1", "ap-southeast-2"): (323.5, 323.2),
    ("eu-central-1", "sa-east-1"): (194.9, 194.9),
    ("ap-northeast-1", "ap-southeast-1"): (73.79, 73.81),
    ("ap-northeast-1", "ap-southeast-2"): (103.9, 103.9),
    ("ap-northeast-1", "sa-east-1"): (256.8, 256.8),
    ("ap-southeast-1", "ap-southeast-2"): (175.3, 175.4),
    ("ap-southeast-1", "sa-east-1"): (328.1, 328.1),
    ("ap-southeast-2", "sa-east-1"): (322.5, 322.5),
}

#: Round-trip time between two regions (ms), both orders; see the module docstring for the source.
RTT_MS: dict[tuple[str, str], float] = {}
for (_a, _b), (_ab, _ba) in _PUBLISHED_MS.items():
    RTT_MS[_a, _b] = RTT_MS[_b, _a] = round((_ab + _ba) / 2, 2)
for _code in REGIONS:
    RTT_MS[_code, _code] = INTRA_REGION_RTT_MS
assert set(RTT_MS) == {(a, b) for a in REGIONS for b in REGIONS}, "a pair of regions has no round-trip time"


def rtt_ms(a: str, b: str) -> float:
    """The round trip between regions ``a`` and ``b`` (ms); within one region, between its zones.

    >>> rtt_ms("eu-west-1", "eu-central-1"), rtt_ms("us-east-1", "us-east-1")
    (19.55, 1.0)
    """
    return RTT_MS[a, b]


def nearest(origin: str, candidates: tuple[str, ...] | list[str]) -> str:
    """The candidate region with the shortest round trip from ``origin`` (ties: the first listed)."""
    if not candidates:
        raise ValueError("no candidate region")
    return min(candidates, key=lambda c: (rtt_ms(origin, c), list(candidates).index(c)))


def personal_data_may_go(origin: str, destination: str, *, dpf_certified: bool = False,
                         safeguards: bool = False) -> bool:
    """Whether personal data of users whose home is ``origin`` may be stored in ``destination``.

    Only data of EEA users is restricted here (GDPR Chapter V); it may stay in the EEA, go to a
    country with an adequacy decision (the US only for a DPF-certified organisation), or go
    anywhere under appropriate safeguards (standard contractual clauses, Art. 46).
    """
    src, dst = REGIONS[origin], REGIONS[destination]
    if not src.eea or dst.eea or safeguards:
        return True
    return dst.adequacy == "yes" or (dst.adequacy == "dpf" and dpf_certified)


def distinct_pairs() -> list[tuple[str, str]]:
    """Every unordered pair of regions once."""
    return list(combinations(REGIONS, 2))
