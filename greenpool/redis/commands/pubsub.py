"""Pub/sub commands that need no subscription: PUBLISH, PUBSUB ...."""

from __future__ import annotations

from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import integer_reply, numsub_pairs, string_list


class PubSubCommands(CommandGroup):
    """The pubsub group: redis-py's methods for it."""

    def publish(self, channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on ``channel``; return how many subscribers received it."""
        return self.execute_command("PUBLISH", channel, message, _parse=integer_reply)

    def pubsub_channels(self, pattern: KeyT = "*") -> list[ReplyT]:
        """Return the channels with subscribers (matching ``pattern``)."""
        return self.execute_command("PUBSUB", "CHANNELS", pattern, _parse=string_list)

    def pubsub_numsub(self, *args: KeyT) -> list[tuple[ReplyT, int]]:
        """Return ``[(channel, subscriber count) ...]`` for the channels."""
        return self.execute_command("PUBSUB", "NUMSUB", *args, _parse=numsub_pairs)
