"""Pub/sub commands that need no subscription: PUBLISH, SPUBLISH, PUBSUB ...."""

from __future__ import annotations

from typing import Any

from ._base import CommandGroup, EncodableT, KeyT, ReplyT
from ._replies import integer_reply, numsub_pairs, string_list


class PubSubCommands(CommandGroup):
    """The pubsub group: redis-py's methods for it."""

    def publish(self, channel: KeyT, message: EncodableT, **kwargs: Any) -> int:
        """Publish ``message`` on ``channel``; return how many subscribers received it."""
        return self.execute_command("PUBLISH", channel, message, _parse=integer_reply, **kwargs)

    def pubsub_channels(self, pattern: KeyT = "*", **kwargs: Any) -> list[ReplyT]:
        """Return the channels with subscribers (matching ``pattern``)."""
        return self.execute_command("PUBSUB", "CHANNELS", pattern, _parse=string_list, **kwargs)

    def pubsub_numsub(self, *args: KeyT, **kwargs: Any) -> list[tuple[ReplyT, int]]:
        """Return ``[(channel, subscriber count) ...]`` for the channels."""
        return self.execute_command("PUBSUB", "NUMSUB", *args, _parse=numsub_pairs, **kwargs)

    def spublish(self, shard_channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on a shard channel; return how many subscribers received it."""
        return self.execute_command("SPUBLISH", shard_channel, message, _parse=integer_reply)

    def pubsub_shardchannels(self, pattern: KeyT = "*", **kwargs: Any) -> list[ReplyT]:
        """Return the shard channels with subscribers (matching ``pattern``)."""
        return self.execute_command(
            "PUBSUB", "SHARDCHANNELS", pattern, _parse=string_list, **kwargs
        )

    def pubsub_numpat(self, **kwargs: Any) -> int:
        """Return how many patterns the server's clients are subscribed to."""
        return self.execute_command("PUBSUB", "NUMPAT", _parse=integer_reply, **kwargs)

    def pubsub_shardnumsub(self, *args: KeyT, **kwargs: Any) -> list[tuple[ReplyT, int]]:
        """Return ``[(shard channel, subscriber count) ...]`` for the shard channels."""
        return self.execute_command(
            "PUBSUB", "SHARDNUMSUB", *args, _parse=numsub_pairs, **kwargs
        )
