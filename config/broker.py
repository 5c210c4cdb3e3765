"""kombu's filesystem transport, with messages written atomically.

kombu writes a message file under its final `.msg` name and then fills it, so a
worker polling the folder can pick up an empty or half-written file and die on
the JSON (kombu #1551). Here the message is written under a temporary name that
the consumer ignores and renamed into place when complete; a rename within one
folder is atomic. Used only by the embedded default (`make run`, tests).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Not "<queue>.msg": the consumer's name filter skips it until renamed.
        partial = final + ".partial"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
