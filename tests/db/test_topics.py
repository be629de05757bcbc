"""Topics: several named profiles per reader, the first one being `SubscriberRow.profile`;
their limits, names, order and deletion, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.subscriber_rows import find, to_profile
from newsletter.db.subscriptions import delete_subscriber
from newsletter.db.topics import (
    MAX_TOPICS,
    TopicError,
    add_topic,
    clean_name,
    delete_topic,
    find_topic,
    move_topic,
    rename_topic,
    reorder_topics,
    topics_of,
)
from newsletter.domain import InterestProfile
from tests.support.web_support import (
    Database,
    subscriber,
)

ROBOTS = InterestProfile(description="robot learning from demonstrations")


def names(database: Database, email: str = "ada@example.org") -> list[str]:
    with database.sessions() as session:
        row = find(session, email)
        assert row is not None
        return [t.name for t in topics_of(session, row.id)]


def test_a_subscriber_starts_with_one_topic_that_is_their_profile(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        assert row.profile is not None
        (topic,) = topics_of(session, row.id)
        assert (topic.id, topic.name, topic.position) == (row.profile.id, "My interests", 0)
        assert to_profile(topic).keywords == ("language models",)


def test_topics_are_added_renamed_reordered_and_the_first_is_the_profile(
    database: Database,
) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        robots = add_topic(session, row, name="  Robot   learning ", profile=ROBOTS)
        assert robots.name == "Robot learning"
        assert robots.position == 1
        add_topic(session, row, name="Chess", profile=InterestProfile(keywords=("chess",)))
        rename_topic(session, robots, "Robots")
        move_topic(session, robots, 0)
    assert names(database) == ["Robots", "My interests", "Chess"]
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        assert row.profile is not None
        assert row.profile.name == "Robots"  # position 0 is the first topic, whichever it is
        assert to_profile(row.profile) == ROBOTS
        ids = [t.id for t in topics_of(session, row.id)]
        reorder_topics(session, row.id, [ids[2], ids[0], ids[1]])
    assert names(database) == ["Chess", "Robots", "My interests"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 81, "at most 80 characters"),
        ("tab\u200bhidden", "printable"),
        ("MY INTERESTS", "already have a topic named 'My interests'"),
    ],
)
def test_names_are_checked(database: Database, name: str, message: str) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        with pytest.raises(TopicError, match=message):
            add_topic(session, row, name=name, profile=ROBOTS)
    assert names(database) == ["My interests"]


def test_at_most_ten_topics_and_never_none(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        for number in range(1, MAX_TOPICS):
            add_topic(session, row, name=f"Topic {number}", profile=ROBOTS)
        with pytest.raises(TopicError, match="at most 10 topics"):
            add_topic(session, row, name="One more", profile=ROBOTS)
        topics = topics_of(session, row.id)
        for topic in topics[:-1]:
            delete_topic(session, topic)
        (last,) = topics_of(session, row.id)
        assert (last.name, last.position) == ("Topic 9", 0)
        with pytest.raises(TopicError, match="only topic"):
            delete_topic(session, last)


def test_reorder_must_name_every_topic_once(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        other = add_topic(session, row, name="Robots", profile=ROBOTS)
        first = topics_of(session, row.id)[0]
        for wrong in ([first.id], [first.id, first.id], [first.id, other.id, 99999], []):
            with pytest.raises(TopicError, match="exactly once"):
                reorder_topics(session, row.id, wrong)


def test_finding_a_topic_ignores_case_and_spacing(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        add_topic(session, row, name="Robot learning", profile=ROBOTS)
        found = find_topic(session, row.id, " robot   LEARNING")
        assert found is not None
        assert found.name == "Robot learning"
        assert find_topic(session, row.id, "robots") is None


def test_deleting_the_subscriber_deletes_every_topic(database: Database) -> None:
    subscriber(database.sessions)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        add_topic(session, row, name="Robots", profile=ROBOTS)
    with database.sessions.begin() as session:
        row = find(session, "ada@example.org")
        assert row is not None
        delete_subscriber(session, row)
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InterestProfileRow)) == 0
        assert session.scalar(select(func.count()).select_from(SubscriberRow)) == 0


def test_clean_name_collapses_spaces() -> None:
    assert clean_name(" Graph \n neural  nets ") == "Graph neural nets"
