"""Closed-form queueing results the simulators are checked against.

Notation: λ arrival rate (per second), μ service rate of one server (per second), c servers,
ρ = λ/(cμ) utilisation. Waiting time Wq excludes service; time in system W = Wq + 1/μ.
"""

from __future__ import annotations

import math


def _stable(arrival_rate: float, service_rate: float, servers: int = 1) -> float:
    if arrival_rate <= 0 or service_rate <= 0 or servers < 1:
        raise ValueError("rates must be positive and servers ≥ 1")
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        raise ValueError(f"unstable queue: utilisation ρ = {rho:.3g} ≥ 1, the backlog grows without bound")
    return rho


def littles_law_l(arrival_rate: float, time_in_system: float) -> float:
    """Little's law L = λW: average number in the system (or in queue, with Wq)."""
    return arrival_rate * time_in_system


def mm1_wq(arrival_rate: float, service_rate: float) -> float:
    """M/M/1 mean wait in queue, Wq = λ / (μ(μ − λ))."""
    _stable(arrival_rate, service_rate)
    return arrival_rate / (service_rate * (service_rate - arrival_rate))


def mm1_w(arrival_rate: float, service_rate: float) -> float:
    """M/M/1 mean time in system, W = 1 / (μ − λ)."""
    _stable(arrival_rate, service_rate)
    return 1.0 / (service_rate - arrival_rate)


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival waits in an M/M/c queue with load a = λ/μ.

    Computed through the numerically stable Erlang B recursion.
    """
    if servers < 1 or offered_load <= 0:
        raise ValueError("servers ≥ 1 and offered load > 0 required")
    if offered_load >= servers:
        raise ValueError(f"unstable queue: offered load {offered_load:.3g} ≥ servers {servers}")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / servers
    return b / (1 - rho + rho * b)


def mmc_wq(arrival_rate: float, service_rate: float, servers: int) -> float:
    """M/M/c mean wait in queue, Wq = C(c, a) / (cμ − λ)."""
    _stable(arrival_rate, service_rate, servers)
    return erlang_c(servers, arrival_rate / service_rate) / (servers * service_rate - arrival_rate)


def mmc_w(arrival_rate: float, service_rate: float, servers: int) -> float:
    """M/M/c mean time in system, W = Wq + 1/μ."""
    return mmc_wq(arrival_rate, service_rate, servers) + 1.0 / service_rate


def mg1_wq(arrival_rate: float, mean_service: float, service_scv: float) -> float:
    """M/G/1 mean wait (Pollaczek–Khinchine), Wq = λ E[S²] / (2(1 − ρ)).

    ``service_scv`` is the squared coefficient of variation of service time
    (1 exponential, 0 deterministic), so E[S²] = (1 + scv) E[S]².
    """
    rho = _stable(arrival_rate, 1.0 / mean_service)
    second_moment = (1.0 + service_scv) * mean_service**2
    return arrival_rate * second_moment / (2.0 * (1.0 - rho))


def servers_for_wait(arrival_rate: float, service_rate: float, max_wq: float) -> int:
    """Fewest M/M/c servers whose mean queueing wait is at most ``max_wq`` (> 0)."""
    if not max_wq > 0:
        raise ValueError(f"max_wq = {max_wq!r}: a positive wait is needed; some waiting is always possible")
    c = max(1, math.floor(arrival_rate / service_rate) + 1)
    while mmc_wq(arrival_rate, service_rate, c) > max_wq:
        c += 1
    return c
