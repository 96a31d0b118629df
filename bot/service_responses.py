"""Rasa's responses with the team's details filled in from the service profile.

domain.yml writes {team_name}, {team_phone}, {team_email}, {team_phone_link} and {team_age_limit}
where a reply names the team or the age limit; this generator (endpoints*.yml `nlg:`) fills them from
the profile as the file is now, so another team changes the profile, never the replies, and
changing it needs no retraining. Everything else is Rasa's own templated generator."""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot import service_profile

PLACEHOLDERS = ("team_name", "team_phone", "team_email", "team_phone_link", "team_age_limit")


class ServiceResponses(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Any = None, domain: Optional[Domain] = None) -> None:
        super().__init__(domain.responses if domain else {})
        service_profile.current()  # a malformed profile stops the server at start, not at a parent's turn

    async def generate(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                       **kwargs: Any) -> Optional[Dict[Text, Any]]:
        values = service_profile.current().reply_values()
        return await super().generate(utter_action, tracker, output_channel, **{**kwargs, **values})


def fill(responses: Dict[Text, Any], values: Dict[Text, Text]) -> Dict[Text, Any]:
    """A copy of domain responses with the team's details in each text (for checks that read replies
    without a running Rasa: the NLU gate, the blind sets)."""
    return {name: [{**variant, **({"text": service_profile.fill_in(variant["text"], values)} if "text" in variant else {})}
                   for variant in variants] for name, variants in responses.items()}


def domain_responses() -> Dict[Text, Any]:
    """domain.yml's responses as this process's profile fills them."""
    import yaml

    from bot.settings import PROJECT_ROOT

    raw = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    return fill(raw, service_profile.current().reply_values())
