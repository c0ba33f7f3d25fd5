"""The reference lists of Dixa's main API (dev.dixa.io), for the Dixa simulator.

GET /v1/agents, /v1/endusers, /v1/queues, /v1/tags, /v1/teams: paged with `meta.next`. The
agents, queues and tags are the ones the conversations are generated with. GET
/v1/custom-attributes, /v1/teams/{teamId}/agents and /v1/queues/{queueId}/members answer in one
piece, as Dixa's reference publishes them (no pageKey parameter).

`Directory` holds what can change between two runs: an object deleted in Dixa (`delete`) is no
longer listed, and an agent deleted is no longer a member of any team or queue.
"""

from __future__ import annotations

import typing as t

from support_simulators.dixa.dataset import AGENTS, QUEUES, TAGS, dixa_id
from support_simulators.framework.dataset import seeded

#: The published model's names of the channels a queue's timeouts are given for.
_CHANNEL_TIMEOUTS = ("Email", "WidgetChat", "PstnPhone", "ContactForm", "Callback", "WhatsApp")

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
            # The six published fields the tap read only in `raw` before.
            "slaCalculationMethod": "AbandonedIgnored",
            "offerAbandonedConversations": n % 2 == 0,
            "doNotOfferTimeouts": {"WidgetChat": 1 + n} if n % 2 == 0 else {},
            "preferredAgentTimeouts": {
                channel: 43200 if channel in ("Email", "ContactForm") else 300
                for channel in _CHANNEL_TIMEOUTS
            },
            "preferredAgentOfflineTimeout": 500,
            "personalAgentOfflineTimeout": 500 + 100 * n,
            "isRestricted": n == len(QUEUES) - 1,
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


def _agent(name: str) -> dict[str, t.Any]:
    return next(a for a in agent_list() if a["displayName"] == name)


def team_members() -> dict[str, list[dict[str, t.Any]]]:
    """Each team's agents, as GET /v1/teams/{teamId}/agents lists them (published fields:
    `id`, `name`, `email`, `phoneNumber`)."""
    return {
        dixa_id("team", team): [
            {
                "id": _agent(name)["id"],
                "name": name,
                "email": _agent(name)["email"],
                "phoneNumber": _agent(name)["phoneNumber"],
            }
            for name in names
        ]
        for team, names in _TEAMS
    }


def queue_members() -> dict[str, list[dict[str, t.Any]]]:
    """Each queue's agents and their priority in it, as GET /v1/queues/{queueId}/members lists
    them (published fields: `agentId`, `priority`); an agent may be in several queues."""
    out = {}
    for n, (queue_id, _) in enumerate(QUEUES):
        agents = [a for i, a in enumerate(AGENTS) if (i + n) % 3 != 0]
        out[queue_id] = [
            {"agentId": agent_id, "priority": 1 + k % 3} for k, (agent_id, _) in enumerate(agents)
        ]
    return out


def custom_attribute_list() -> list[dict[str, t.Any]]:
    """The custom attribute definitions (GET /v1/custom-attributes), in the published model: the
    conversations' `custom_fields` name them by `attribute_id`. `createdAt`/`updatedAt` come as
    Dixa publishes them, with a zone name after the instant ("...Z[GMT]")."""
    reasons = [("payment", "Payment"), ("access", "Access"), ("delivery", "Delivery")]
    return [
        {
            "id": dixa_id("attr", "order"),
            "entityType": "Conversation",
            "identifier": "order_number",
            "label": "Order number",
            "inputDefinition": {"placeholder": "A-1234", "_type": "Text"},
            "description": "The customer's order",
            "createdAt": "2023-03-01T08:23:54.246Z[GMT]",
            "updatedAt": "2023-05-11T12:25:23.837Z[GMT]",
            "isRequired": False,
            "isArchived": False,
            "isDeactivated": False,
        },
        {
            "id": dixa_id("attr", "contact_reason"),
            "entityType": "Conversation",
            "identifier": "contact_reason",
            "label": "Contact reason",
            "inputDefinition": {
                "options": [
                    {
                        "id": dixa_id("attr-option", value),
                        "label": label,
                        "value": value,
                        "nestedOptions": [],
                        "isDeactivated": value == "delivery",
                        "orderIndex": n + 1,
                    }
                    for n, (value, label) in enumerate(reasons)
                ],
                "_type": "Select",
            },
            "description": "Why the customer got in touch",
            "createdAt": "2023-01-05T06:42:31.532Z[GMT]",
            "isRequired": True,
            "isArchived": False,
            "isDeactivated": False,
        },
        {
            "id": dixa_id("attr", "plan"),
            "entityType": "Contact",
            "identifier": "plan",
            "label": "Plan",
            "inputDefinition": {"placeholder": "gold", "_type": "Text"},
            "createdAt": "2023-01-01T08:25:50.2Z[GMT]",
            "isRequired": False,
            "isArchived": True,
            "isDeactivated": False,
        },
    ]


#: Each list's path under /v1/ and what it lists.
LISTS: dict[str, t.Callable[[], list[dict[str, t.Any]]]] = {
    "agents": agent_list,
    "endusers": end_user_list,
    "queues": queue_list,
    "tags": tag_list,
    "teams": team_list,
    "custom-attributes": custom_attribute_list,
}
#: The lists Dixa pages with `meta.next` (the custom attribute definitions come in one piece).
PAGED_LISTS = frozenset({"agents", "endusers", "queues", "tags", "teams"})


class Directory:
    """The main API's objects as they are now: the lists less what was deleted in Dixa."""

    def __init__(self) -> None:
        #: (list path, id) of every object deleted in Dixa.
        self.deleted: set[tuple[str, str]] = set()

    def delete(self, kind: str, object_id: str) -> None:
        """An object deleted in Dixa (`kind`: a list's path under /v1/, e.g. "tags"): no longer
        listed; a deleted agent is no longer in any team or queue. KeyError if there is none."""
        if kind not in LISTS or not any(o["id"] == object_id for o in LISTS[kind]()):
            raise KeyError(f"no {kind} object with id {object_id!r}")
        self.deleted.add((kind, object_id))

    def listing(self, kind: str) -> list[dict[str, t.Any]]:
        """The list at /v1/<kind>, as Dixa lists it now."""
        return [o for o in LISTS[kind]() if (kind, o["id"]) not in self.deleted]

    def team_members(self, team_id: str) -> list[dict[str, t.Any]] | None:
        """The team's members (None: no such team)."""
        if ("teams", team_id) in self.deleted:
            return None
        members = team_members().get(team_id)
        return None if members is None else [m for m in members if self._agent_kept(m["id"])]

    def queue_members(self, queue_id: str) -> list[dict[str, t.Any]] | None:
        """The queue's members (None: no such queue)."""
        if ("queues", queue_id) in self.deleted:
            return None
        members = queue_members().get(queue_id)
        return None if members is None else [m for m in members if self._agent_kept(m["agentId"])]

    def _agent_kept(self, agent_id: str) -> bool:
        return ("agents", agent_id) not in self.deleted
