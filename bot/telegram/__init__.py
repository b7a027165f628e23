"""Telegram front end of readout: `readout telegram` answers questions about readouts in chats.

The package is split so that each module has one job and can be read on its own:

- `config`   settings from the environment and options; `config.ENV` lists every env setting
             the bot reads, and `readout telegram --help` prints it
- `logs`     logging that never shows the bot token and keeps failures to one line
- `catalog`  the readouts the bot knows, numbered newest first as `/sources` shows them
- `batcher`  gathers concurrent questions into small `engine.ask_many` batches off the event loop
- `limits`   allowed chats and the per-user question rate limit
- `state`    a small LRU of recent answers so that "More results" can page through them
- `render`   Telegram-HTML for answers, points and readouts (all corpus and user text escaped)
- `split`    splitting HTML over Telegram's 4096-character limit without breaking tags or entities
- `buttons`  callback data (at most 64 bytes) and inline keyboards
- `handlers` the update handlers (each tells the user when it fails); `app` wires them into a
             python-telegram-bot Application
- `retry`    retries Bot API calls where a repeat cannot show a user anything twice
- `reload`   follows a newer index while the bot runs
- `command`  the `readout telegram` click command

Nothing here is imported by `bot.telegram` itself, so `readout --help` does not pay for
python-telegram-bot or the model.
"""
