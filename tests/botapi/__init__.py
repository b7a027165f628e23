"""A strict local stand-in for the Telegram Bot API, for the bot's tests (see server.py)."""

from .process import stop
from .server import ApiError, FakeBotAPI, Sent

__all__ = ["ApiError", "FakeBotAPI", "Sent", "stop"]
