"""Front ends of readout: the `readout` command line and the Telegram bot."""
