"""The URLs mailed to subscribers, each carrying a signed, purpose-scoped token. Pure."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from newsletter.mail.render import DigestLinks, PaperLinks
from newsletter.mail.tokens import Purpose, Tokens


@dataclass(frozen=True, slots=True)
class Recipient:
    subscriber_id: int
    token_key: str


@dataclass(frozen=True)
class Links:
    base_url: str
    tokens: Tokens

    def _url(self, path: str, purpose: Purpose, who: Recipient, *extra: object) -> str:
        token = self.tokens.make(
            purpose, subscriber_id=who.subscriber_id, token_key=who.token_key, extra=extra
        )
        return f"{self.base_url}/{path}/{token}"

    def confirm(self, who: Recipient) -> str:
        return self._url("confirm", Purpose.CONFIRM, who)

    def unsubscribe(self, who: Recipient) -> str:
        return self._url("unsubscribe", Purpose.UNSUBSCRIBE, who)

    def preferences(self, who: Recipient) -> str:
        return self._url("preferences", Purpose.PREFERENCES, who)

    def view(self, who: Recipient, day: date) -> str:
        return self._url("digest", Purpose.VIEW, who, day.isoformat())

    def feed(self, who: Recipient, topic: int | None = None) -> str:
        """The reader's Atom feed: every topic's papers, or (`topic`) one topic's. The
        topic is a query parameter, not in the token: one token per reader serves all."""
        token = self.tokens.make(
            Purpose.FEED, subscriber_id=who.subscriber_id, token_key=who.token_key
        )
        query = "" if topic is None else f"?topic={topic}"
        return f"{self.base_url}/feed/{token}.xml{query}"

    def feedback(self, who: Recipient) -> str:
        """The base of "more/less like this" links: the token says who, the query which
        paper, which way and which topic (one signature per mail instead of two per paper;
        the topic need not be signed: the route accepts only the reader's own topics)."""
        return self._url("feedback", Purpose.FEEDBACK, who)

    def digest(
        self,
        who: Recipient,
        day: date,
        paper_ids: Iterable[str],
        topics: Mapping[str, int] | None = None,
    ) -> DigestLinks:
        """The mail's links; `topics`: the topic each paper was chosen for (by paper id),
        named in its feedback links (a paper without one: the reader's first topic)."""
        feedback = self.feedback(who)
        topics = topics or {}
        return DigestLinks(
            view_in_browser=self.view(who, day),
            preferences=self.preferences(who),
            unsubscribe=self.unsubscribe(who),
            papers={
                paper_id: PaperLinks(
                    more_like_this=f"{feedback}?{_vote(paper_id, 'more', topics.get(paper_id))}",
                    less_like_this=f"{feedback}?{_vote(paper_id, 'less', topics.get(paper_id))}",
                )
                for paper_id in paper_ids
            },
        )


def _vote(paper_id: str, vote: str, topic: int | None) -> str:
    query = _paper_vote(paper_id, vote)
    return query if topic is None else f"{query}&topic={topic}"


@functools.lru_cache(maxsize=16384)
def _paper_vote(paper_id: str, vote: str) -> str:
    # The same for every reader of the paper: encoded once.
    return urlencode({"paper": paper_id, "vote": vote})
