"""What a channel says when a turn could not be completed: honest, and never a dead end."""
from bot.settings import TEAM_PHONE

TRY_AGAIN = (
    "Sorry, I couldn't save that just now, so please send it again in a minute. "
    f"If you'd rather talk to someone, call the team on {TEAM_PHONE}. In an emergency, call 999."
)
NO_REPLY = (
    "Sorry, something went wrong on my side and I couldn't answer that. Please send it again. "
    f"If you'd rather talk to someone, call the team on {TEAM_PHONE}. In an emergency, call 999."
)


def expects_reply(text: str) -> bool:
    """Every message gets a reply, except Rasa's /restart (the channels greet afresh themselves)."""
    return text.strip() != "/restart"
