"""Which channels a recipient gets a notice on, besides the inbox: the role's defaults, overridden
channel by channel by the user's own preferences. Pure rules; no database here."""

from __future__ import annotations

from dataclasses import dataclass

from processes.roles import LANES
from registry.models import Role


@dataclass(frozen=True)
class Rule:
    channel: str
    # Case priorities the channel is for; empty: every notice.
    priorities: frozenset[str] = frozenset()
    on_call_only: bool = False

    def applies(self, priority: str | None, on_call: bool) -> bool:
        if self.on_call_only and not on_call:
            return False
        return not self.priorities or (priority or "") in self.priorities


P1 = frozenset({"P1"})
P1_P2 = frozenset({"P1", "P2"})
# Defaults by the role a notice reaches (the BPMN lane's role). The inbox and its live push are
# everyone's; a maintenance technician on call is texted for a P1 rescue, regulators read e-mail.
ROLE_DEFAULTS: dict[str, tuple[Rule, ...]] = {
    Role.MAINTENANCE: (Rule("sms", P1, on_call_only=True), Rule("im", P1_P2)),
    Role.MAINTENANCE_MANAGER: (Rule("im", P1_P2), Rule("email")),
    Role.PROPERTY: (Rule("sms", P1),),
    Role.REGULATOR: (Rule("email"),),
    Role.DISPATCHER: (),  # at the console all day: inbox and live push
}


@dataclass(frozen=True)
class Choice:
    """One channel chosen for one recipient; `explicit` when the user chose it (a missing address is
    then a visible failure, not a quiet skip)."""

    channel: str
    explicit: bool


def parse_priorities(text: str) -> frozenset[str]:
    return frozenset(p.strip().upper() for p in text.split(",") if p.strip())


def channels_for(
    lane: str,
    priority: str | None,
    on_call: bool,
    own: dict[str, tuple[bool, str]],
    available: set[str] | frozenset[str],
) -> list[Choice]:
    """`own`: the user's preferences, channel -> (enabled, "P1,P2"); `available`: configured channels."""
    role = LANES.get(lane, lane)
    chosen: dict[str, Choice] = {}
    for rule in ROLE_DEFAULTS.get(role, ()):
        if rule.channel not in own and rule.applies(priority, on_call):
            chosen[rule.channel] = Choice(rule.channel, explicit=False)
    for channel, (enabled, priorities) in own.items():
        if enabled and Rule(channel, parse_priorities(priorities)).applies(priority, on_call):
            chosen[channel] = Choice(channel, explicit=True)
    return [c for name, c in sorted(chosen.items()) if name in available]
