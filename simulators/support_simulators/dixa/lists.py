"""The reference lists of Dixa's main API (dev.dixa.io), for the Dixa simulator.

GET /v1/agents, /v1/endusers, /v1/queues, /v1/tags, /v1/teams: paged with `meta.next`. The
agents, queues and tags are the ones the conversations are generated with.
"""

from __future__ import annotations

import typing as t

from support_simulators.dixa.dataset import AGENTS, QUEUES, TAGS, dixa_id
from support_simulators.framework.dataset import seeded

_TEAMS = [
    ("Frontline", ["Jane Smith", "Ravi Patel", "Ana Souza", "Lee Min"]),
    ("Specialists", ["Omar Haddad", "Greta Berg"]),
    ("Escalations", ["Tom Okafor", "Ines Duarte"]),
]
_FIRST = ["Alex", "Sam", "Maria", "Jon", "Priya", "Kim", "Lars", "Noor", "Eva", "Luis"]
_LAST = ["Jensen", "Olsen", "Garcia", "Khan", "Nielsen", "Rossi", "Berg", "Silva"]


def agent_list() -> list[dict[str, t.Any]]:
    out = []
    for n, (agent_id, name) in enumerate(AGENTS):
        first, last = name.split(" ", 1)
        out.append(
            {
                "id": agent_id,
                "createdAt": f"2023-0{1 + n % 9}-1{n % 10}T09:00:00Z",
                "displayName": name,
                "email": f"{first.lower()}@acme.example",
                "avatarUrl": None,
                "phoneNumber": f"+45 20 00 00 {n:02d}",
                "additionalEmails": [],
                "additionalPhoneNumbers": [],
                "firstName": first,
                "lastName": last,
                "middleNames": [],
                "roles": ["Agent"],
            }
        )
    return out


def end_user_list(count: int = 60) -> list[dict[str, t.Any]]:
    rng = seeded("endusers")  # the same end users whatever the seed
    out = []
    for n in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        out.append(
            {
                "id": dixa_id("enduser", n),
                "createdAt": f"2023-{1 + n % 12:02d}-0{1 + n % 9}T12:00:00Z",
                "displayName": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{n}@mail.example",
                "avatarUrl": None,
                "phoneNumber": None if n % 3 else f"+45 30 00 {n:04d}",
                "additionalEmails": [],
                "additionalPhoneNumbers": [],
                "firstName": first,
                "lastName": last,
                "middleNames": [],
                "externalId": None if n % 2 else f"crm-{n}",
                "customAttributes": []
                if n % 4
                else [
                    {
                        "id": dixa_id("attr", "plan"),
                        "name": "Plan",
                        "identifier": "plan",
                        "value": "gold",
                    }
                ],
            }
        )
    return out


def queue_list() -> list[dict[str, t.Any]]:
    return [
        {
            "id": queue_id,
            "name": name,
            "isDefault": n == 0,
            "organizationId": dixa_id("org", "acme"),
            "offerTimeout": 30,
            "priority": n,
            "wrapupTimeout": 60,
            "offeringAlgorithm": "AllAtOnce",
            "isDoNotOfferEnabled": False,
            "isPreferredAgentEnabled": n % 2 == 1,
            "memberListType": "SkillBased",
            "queueThresholds": {"SlaTimeLimit": 60 * (n + 1)},
            "usages": {"queueId": queue_id, "usages": {}},
        }
        for n, (queue_id, name) in enumerate(QUEUES)
    ]


def tag_list() -> list[dict[str, t.Any]]:
    return [
        {
            "id": tag_id,
            "name": name,
            "color": f"#{(n * 2654435761) % 0xFFFFFF:06x}",
            "state": "Active" if n < len(TAGS) - 1 else "Inactive",
        }
        for n, (tag_id, name) in enumerate(TAGS)
    ]


def team_list() -> list[dict[str, t.Any]]:
    return [{"id": dixa_id("team", name), "name": name} for name, _ in _TEAMS]


#: Each list's path under /v1/ and what it lists.
LISTS: dict[str, t.Callable[[], list[dict[str, t.Any]]]] = {
    "agents": agent_list,
    "endusers": end_user_list,
    "queues": queue_list,
    "tags": tag_list,
    "teams": team_list,
}
