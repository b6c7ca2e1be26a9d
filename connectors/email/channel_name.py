"""The name messages of this channel carry; alone in its module so naming it loads nothing else."""

CHANNEL = "email"
