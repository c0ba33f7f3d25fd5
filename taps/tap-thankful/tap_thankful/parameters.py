"""The ids of the filters every Analytics API endpoint takes ("The following parameters are
supported"): `ss`, Ticket Status ID, and `fs`, Channel.

Their own module: the tap checks and describes the `statuses` and `channels` settings with
them, and nothing here depends on the tap or its streams.
"""

from __future__ import annotations

#: `ss`: the ticket status ids.
STATUS_IDS = {
    1: "Complete",
    2: "Handoff",
    3: "Pending",
    4: "Reported",
    5: "Training",
    6: "Action Disabled",
    7: "Transferred",
    8: "Handoff Takeover",
}
#: `fs`: the channel ids.
CHANNEL_IDS = {
    1: "Thankful Console",
    2: "Email",
    3: "SMS",
    4: "Web form",
    5: "Twitter",
    6: "In App",
    7: "Chat",
    8: "API",
    9: "Facebook",
}


def listed(ids: dict[int, str]) -> str:
    """ "1 Complete, 2 Handoff, ...": the ids as the settings' descriptions list them."""
    return ", ".join(f"{number} {name}" for number, name in ids.items())
