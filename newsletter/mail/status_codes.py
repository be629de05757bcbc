"""RFC 3463 enhanced status codes that the SMTP replies and the bounce reports share.

One set decides "this address leads nowhere" both when a relay answers during a send
(newsletter.delivery.replies) and when a bounce report arrives later
(newsletter.bounces.findings), so an address is suppressed by the same rule either way.
"""

from __future__ import annotations

# The address leads nowhere: no such mailbox (5.1.1), no such domain (5.1.2), not an
# address (5.1.3), moved away (5.1.6), null MX / RecipientNotFound (5.1.10), unroutable
# (5.4.4). Other 5.1.x (5.1.0 unspecified, 5.1.4 ambiguous...) fail the message only.
MAILBOX_GONE = frozenset({"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.4.4"})
