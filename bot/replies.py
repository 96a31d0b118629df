"""What a channel says when a turn could not be completed: honest, and never a dead end."""
from bot import service_profile


def try_again() -> str:
    return ("Sorry, I couldn't save that just now, so please send it again in a minute. "
            f"If you'd rather talk to someone, call the team on {service_profile.current().phone}. "
            "In an emergency, call 999.")


def no_reply() -> str:
    return ("Sorry, something went wrong on my side and I couldn't answer that. Please send it again. "
            f"If you'd rather talk to someone, call the team on {service_profile.current().phone}. "
            "In an emergency, call 999.")


def expects_reply(text: str) -> bool:
    """Every message gets a reply, except Rasa's /restart (the channels greet afresh themselves)."""
    return text.strip() != "/restart"
