"""The dead-letter review desk: replay, discard and resolve, from services, `manage.py dlq`
and the admin."""

import json
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.html import escape

from accounts.services import user_create
from outbox import groups, topics
from outbox.dead_letters import (
    DeadLetterNotPending,
    DeadLetterReplayError,
    dead_letter_discard,
    dead_letter_replay,
    dead_letter_resolve,
)
from outbox.models import DeadLetter, DiagnosticReceipt, InboxEntry

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/outbox/deadletter/"


def _envelope(event_id: str | None = None, seq: int = 7) -> dict:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "diagnostic.ping",
        "version": 1,
        "timestamp": "2026-01-01T00:00:00Z",
        "source": "outbox",
        "aggregate_type": "diagnostic",
        "aggregate_id": "k1",
        "correlation_id": "c",
        "causation_id": None,
        "user_id": None,
        "priority": "low",
        "data": {"seq": seq},
    }


_offsets = iter(range(1_000_000))


def _dead_letter(
    envelope: dict | None = None, *, value: bytes | None = None, group: str = "diagnostics", **kw
) -> DeadLetter:
    envelope = envelope or _envelope()
    now = datetime.now(UTC)
    fields = {
        "group": group,
        "event_id": envelope["event_id"] if value is None else None,
        "event_type": envelope["event_type"] if value is None else "",
        "aggregate_id": envelope["aggregate_id"] if value is None else "",
        "topic": "test.outbox.diagnostic",
        "partition": 0,
        "offset": next(_offsets),
        "key": "k1",
        "value": json.dumps(envelope).encode() if value is None else value,
        "headers": [["ce_type", "diagnostic.ping"], ["traceparent", "00-abc-01"]],
        "error_class": "RuntimeError",
        "error_message": "handler blew up",
        "traceback": 'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError',
        "attempts": 4,
        "first_attempt_at": now,
        "last_attempt_at": now,
        **kw,
    }
    return DeadLetter.objects.create(**fields)


@pytest.fixture
def failing_group():
    """A consumer group, of this test only, whose diagnostic.ping handler always fails."""
    name = f"failing-{uuid.uuid4().hex[:8]}"

    @groups.handles("diagnostic.ping", group=name)
    def always_fails(event) -> None:
        DiagnosticReceipt.objects.create(event_id=event.event_id, key="x", seq=-1)
        raise RuntimeError("still broken")

    yield name
    del groups._groups[name]
    topics._declared.pop(("dlq", name), None)  # `handles` declared the group's DLQ topic


# --- services ----------------------------------------------------------------------------


def test_replay_applies_the_event_once():
    dead_letter = _dead_letter()

    assert dead_letter_replay(dead_letter=dead_letter, by="alice") is True

    receipt = DiagnosticReceipt.objects.get()
    assert (str(receipt.event_id), receipt.key, receipt.seq) == (str(dead_letter.event_id), "k1", 7)
    assert InboxEntry.objects.filter(group="diagnostics", event_id=dead_letter.event_id).exists()
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.REPLAYED
    assert dead_letter.replayed_by == "alice"
    assert dead_letter.replayed_at is not None
    assert dead_letter.last_replay_error == ""


def test_replaying_an_event_already_applied_is_a_duplicate():
    envelope = _envelope()
    first, second = _dead_letter(envelope), _dead_letter(envelope)
    dead_letter_replay(dead_letter=first, by="alice")

    assert dead_letter_replay(dead_letter=second, by="bob") is False

    assert DiagnosticReceipt.objects.count() == 1
    second.refresh_from_db()
    assert (second.status, second.replayed_by) == (DeadLetter.Status.REPLAYED, "bob")


def test_replay_of_a_value_that_is_not_json_fails_and_is_recorded():
    dead_letter = _dead_letter(value=b"\x00not json", error_class="PoisonEvent")

    with pytest.raises(DeadLetterReplayError, match="not JSON"):
        dead_letter_replay(dead_letter=dead_letter, by="alice")

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING
    assert "not JSON" in dead_letter.last_replay_error
    assert not InboxEntry.objects.exists()


def test_replay_to_a_group_that_no_longer_handles_the_type_fails(failing_group):
    dead_letter = _dead_letter(group=failing_group)
    del groups.consumer_group_get(failing_group).handlers["diagnostic.ping"]

    with pytest.raises(DeadLetterReplayError, match=r"no longer handles diagnostic\.ping"):
        dead_letter_replay(dead_letter=dead_letter, by="alice")

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING
    assert "no longer handles diagnostic.ping" in dead_letter.last_replay_error
    assert not InboxEntry.objects.exists()


def test_replay_to_a_group_that_no_longer_exists_fails():
    dead_letter = _dead_letter(group="retired-group")

    with pytest.raises(DeadLetterReplayError, match="no consumer group 'retired-group'"):
        dead_letter_replay(dead_letter=dead_letter, by="alice")

    dead_letter.refresh_from_db()
    assert "no consumer group 'retired-group'" in dead_letter.last_replay_error


def test_a_failing_handler_rolls_back_and_keeps_the_dead_letter_pending(failing_group):
    dead_letter = _dead_letter(group=failing_group)

    with pytest.raises(DeadLetterReplayError, match="still broken") as raised:
        dead_letter_replay(dead_letter=dead_letter, by="alice")

    assert isinstance(raised.value.__cause__, RuntimeError)
    assert not InboxEntry.objects.filter(group=failing_group).exists()
    assert not DiagnosticReceipt.objects.exists()  # the handler's write was rolled back
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING
    assert dead_letter.last_replay_error == "RuntimeError: still broken"
    assert dead_letter.replayed_by == ""


@pytest.mark.django_db(transaction=True)
def test_a_failed_replay_is_committed_and_can_be_retried_once_fixed(failing_group):
    dead_letter = _dead_letter(group=failing_group)
    with pytest.raises(DeadLetterReplayError):
        dead_letter_replay(dead_letter=dead_letter, by="alice")
    assert DeadLetter.objects.get(pk=dead_letter.pk).last_replay_error

    # The fix is deployed: the group's handler now works.
    fixed = groups.consumer_group_get("diagnostics").handlers["diagnostic.ping"]
    groups.consumer_group_get(failing_group).handlers["diagnostic.ping"] = fixed
    assert dead_letter_replay(dead_letter=dead_letter, by="alice") is True

    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.last_replay_error) == ("replayed", "")
    assert InboxEntry.objects.filter(group=failing_group).count() == 1
    assert DiagnosticReceipt.objects.get().seq == 7


def test_a_successful_replay_clears_the_last_replay_error():
    dead_letter = _dead_letter(last_replay_error="RuntimeError: earlier failure")

    dead_letter_replay(dead_letter=dead_letter, by="alice")

    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.last_replay_error) == ("replayed", "")


def test_discard_requires_a_reason():
    dead_letter = _dead_letter()

    with pytest.raises(ValueError, match="reason"):
        dead_letter_discard(dead_letter=dead_letter, by="alice", reason="   ")

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING


def test_discard_records_who_and_why():
    dead_letter = _dead_letter()

    dead_letter_discard(dead_letter=dead_letter, by="alice", reason=" test data, ignore ")

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.DISCARDED
    assert dead_letter.discarded_by == "alice"
    assert dead_letter.discard_reason == "test data, ignore"
    assert dead_letter.discarded_at is not None


def test_resolve_closes_a_pending_dead_letter():
    dead_letter = _dead_letter()

    dead_letter_resolve(dead_letter=dead_letter, by="alice")

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.RESOLVED
    assert dead_letter.resolved_by == "alice"
    assert dead_letter.resolved_at is not None
    assert not DiagnosticReceipt.objects.exists()


@pytest.mark.parametrize(
    "close",
    [
        lambda dl: dead_letter_discard(dead_letter=dl, by="a", reason="no"),
        lambda dl: dead_letter_resolve(dead_letter=dl, by="a"),
        lambda dl: dead_letter_replay(dead_letter=dl, by="a"),
    ],
    ids=["discarded", "resolved", "replayed"],
)
def test_only_pending_dead_letters_can_be_acted_on(close):
    dead_letter = _dead_letter()
    close(dead_letter)

    with pytest.raises(DeadLetterReplayError, match="only pending"):
        dead_letter_replay(dead_letter=dead_letter, by="bob")
    with pytest.raises(DeadLetterNotPending):
        dead_letter_discard(dead_letter=dead_letter, by="bob", reason="again")
    with pytest.raises(DeadLetterNotPending):
        dead_letter_resolve(dead_letter=dead_letter, by="bob")


def test_a_stale_instance_cannot_replay_what_another_reviewer_closed():
    dead_letter = _dead_letter()
    dead_letter_discard(
        dead_letter=DeadLetter.objects.get(pk=dead_letter.pk), by="bob", reason="dup"
    )

    with pytest.raises(DeadLetterReplayError, match="discarded"):
        dead_letter_replay(dead_letter=dead_letter, by="alice")  # still says pending in memory

    assert not DiagnosticReceipt.objects.exists()
    dead_letter.refresh_from_db()
    assert dead_letter.last_replay_error == ""


# --- manage.py dlq -----------------------------------------------------------------------


def _dlq(*args: str) -> str:
    out = StringIO()
    call_command("dlq", *args, stdout=out)
    return out.getvalue()


def test_dlq_list_filters_by_group_and_status(failing_group):
    pending = _dead_letter()
    other_group = _dead_letter(group=failing_group)
    discarded = _dead_letter()
    dead_letter_discard(dead_letter=discarded, by="a", reason="no")

    lines = _dlq("list", "--group", "diagnostics", "--status", "pending").splitlines()

    assert lines[0].split() == [
        "id",
        "group",
        "event",
        "type",
        "status",
        "error",
        "class",
        "created",
    ]
    assert [line.split()[0] for line in lines[1:]] == [str(pending.pk)]
    assert lines[1].split()[1:5] == ["diagnostics", "diagnostic.ping", "pending", "RuntimeError"]
    everything = _dlq("list")
    assert {str(pending.pk), str(other_group.pk), str(discarded.pk)} <= {
        line.split()[0] for line in everything.splitlines()[1:]
    }
    assert _dlq("list", "--group", "nobody") == "no dead letters\n"


def test_dlq_show_prints_every_field_the_value_and_the_traceback():
    dead_letter = _dead_letter()

    out = _dlq("show", str(dead_letter.pk))

    assert f"event_id: {dead_letter.event_id}" in out
    assert "error_message: handler blew up" in out
    assert '  "data": {\n    "seq": 7\n  }' in out  # pretty JSON
    assert "  traceparent: 00-abc-01" in out
    assert "Traceback (most recent call last):" in out


def test_dlq_show_prints_a_value_that_is_not_json_as_text():
    dead_letter = _dead_letter(value=b"garbage{")

    assert "(not JSON) garbage{" in _dlq("show", str(dead_letter.pk))


def test_dlq_replay():
    dead_letter = _dead_letter()

    out = _dlq("replay", str(dead_letter.pk), "--by", "carol")

    assert f"dead letter {dead_letter.pk} replayed to diagnostics" in out
    assert "applied" in out
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.replayed_by) == ("replayed", "carol")
    assert DiagnosticReceipt.objects.filter(event_id=dead_letter.event_id).exists()


def test_dlq_replay_defaults_by_to_the_os_user(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    dead_letter = _dead_letter()

    _dlq("replay", str(dead_letter.pk))

    dead_letter.refresh_from_db()
    assert dead_letter.replayed_by == "os-user"


def test_dlq_replay_failure_is_a_command_error(failing_group):
    dead_letter = _dead_letter(group=failing_group)

    with pytest.raises(CommandError, match="RuntimeError: still broken"):
        _dlq("replay", str(dead_letter.pk), "--by", "carol")

    dead_letter.refresh_from_db()
    assert dead_letter.status == "pending"


def test_dlq_discard_and_resolve():
    discarded, resolved = _dead_letter(), _dead_letter()

    assert "discarded" in _dlq("discard", str(discarded.pk), "--reason", "bad data", "--by", "d")
    assert "resolved" in _dlq("resolve", str(resolved.pk), "--by", "r")

    discarded.refresh_from_db()
    resolved.refresh_from_db()
    assert (discarded.status, discarded.discarded_by, discarded.discard_reason) == (
        "discarded",
        "d",
        "bad data",
    )
    assert resolved.status == "resolved"


def test_dlq_errors_are_command_errors():
    dead_letter = _dead_letter()

    with pytest.raises(CommandError, match="no dead letter with id 999999"):
        _dlq("show", "999999")
    with pytest.raises(CommandError, match="reason is required"):
        _dlq("discard", str(dead_letter.pk), "--reason", " ", "--by", "d")
    _dlq("resolve", str(dead_letter.pk), "--by", "r")
    with pytest.raises(CommandError, match="only pending"):
        _dlq("replay", str(dead_letter.pk), "--by", "r")


# --- admin -------------------------------------------------------------------------------


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(user_create(username="root", password="root-pass-1", is_superuser=True))
    return client


def test_admin_changelist_loads_with_filters(admin_client, failing_group):
    shown = _dead_letter()
    hidden = _dead_letter(group=failing_group)

    everything = admin_client.get(CHANGELIST)
    filtered = admin_client.get(CHANGELIST, {"group": "diagnostics", "status__exact": "pending"})

    assert everything.status_code == 200
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == [shown]
    assert hidden in everything.context["cl"].result_list
    assert b"Replay to its group" in everything.content


def test_admin_search_is_exact_on_event_id(admin_client):
    wanted, _other = _dead_letter(), _dead_letter()

    found = admin_client.get(CHANGELIST, {"q": str(wanted.event_id)})
    not_a_uuid = admin_client.get(CHANGELIST, {"q": "not-a-uuid"})

    assert list(found.context["cl"].result_list) == [wanted]
    assert not_a_uuid.status_code == 200


def test_admin_detail_shows_pretty_json_and_escapes_the_error(admin_client):
    envelope = _envelope()
    dead_letter = _dead_letter(
        envelope,
        error_message="<script>alert(1)</script>",
        traceback="Traceback:\n  <script>evil()</script>",
    )

    response = admin_client.get(f"{CHANGELIST}{dead_letter.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(json.dumps(envelope, indent=2)) in html
    assert "<script>alert(1)</script>" not in html
    assert "RuntimeError: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;evil()&lt;/script&gt;" in html
    assert "<code>traceparent</code>: 00-abc-01" in html
    assert 'name="_save"' not in html  # read-only


def test_admin_detail_shows_a_value_that_is_not_json_escaped(admin_client):
    dead_letter = _dead_letter(value=b"<b>raw</b>")

    response = admin_client.get(f"{CHANGELIST}{dead_letter.pk}/change/")

    assert response.status_code == 200
    assert "<pre>&lt;b&gt;raw&lt;/b&gt;</pre>" in response.content.decode()


def test_admin_cannot_add(admin_client):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_admin_replay_action(admin_client):
    dead_letter = _dead_letter()

    response = admin_client.post(
        CHANGELIST, {"action": "replay", "_selected_action": [dead_letter.pk]}, follow=True
    )

    assert response.status_code == 200
    assert f"Dead letter {dead_letter.pk} replayed to diagnostics." in response.content.decode()
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.replayed_by) == ("replayed", "root")
    assert DiagnosticReceipt.objects.filter(event_id=dead_letter.event_id).count() == 1


def test_admin_replay_action_reports_each_failure(admin_client, failing_group):
    good, bad = _dead_letter(), _dead_letter(group=failing_group)

    response = admin_client.post(
        CHANGELIST, {"action": "replay", "_selected_action": [good.pk, bad.pk]}, follow=True
    )

    html = response.content.decode()
    assert f"Dead letter {good.pk} replayed" in html
    assert f"Dead letter {bad.pk} not replayed" in html
    assert "RuntimeError: still broken" in html
    bad.refresh_from_db()
    assert bad.status == "pending"


def test_admin_resolve_action(admin_client):
    dead_letter = _dead_letter()

    admin_client.post(CHANGELIST, {"action": "resolve", "_selected_action": [dead_letter.pk]})

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.RESOLVED
    detail = admin_client.get(f"{CHANGELIST}{dead_letter.pk}/change/").content.decode()
    assert "Resolved by root on" in detail


def test_admin_discard_asks_for_a_reason_then_discards(admin_client):
    dead_letter, already = _dead_letter(), _dead_letter()
    dead_letter_resolve(dead_letter=already, by="x")
    selected = [dead_letter.pk, already.pk]

    asked = admin_client.post(CHANGELIST, {"action": "discard", "_selected_action": selected})
    assert asked.status_code == 200
    assert asked.templates[0].name == "admin/outbox/deadletter/discard.html"
    assert 'name="reason"' in asked.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING

    blank = admin_client.post(
        CHANGELIST,
        {"action": "discard", "_selected_action": selected, "confirm": "yes", "reason": " "},
    )
    assert blank.status_code == 200  # the page again, with the error
    assert "This field is required." in blank.content.decode()

    done = admin_client.post(
        CHANGELIST,
        {
            "action": "discard",
            "_selected_action": selected,
            "confirm": "yes",
            "reason": "sent by a test",
        },
        follow=True,
    )

    assert done.status_code == 200
    assert "1 dead letter(s) discarded." in done.content.decode()
    dead_letter.refresh_from_db()
    already.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.DISCARDED
    assert (dead_letter.discarded_by, dead_letter.discard_reason) == ("root", "sent by a test")
    assert already.status == DeadLetter.Status.RESOLVED
    history = admin_client.get(f"{CHANGELIST}{dead_letter.pk}/history/").content.decode()
    assert "Discarded: sent by a test" in history
    detail = admin_client.get(f"{CHANGELIST}{dead_letter.pk}/change/").content.decode()
    assert "Discarded by root on" in detail


def test_admin_actions_need_the_change_permission():
    viewer = user_create(username="viewer", password="viewer-pass-1", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="outbox", codename="view_deadletter")
    )
    client = Client()
    client.force_login(viewer)
    dead_letter = _dead_letter()

    assert client.get(f"{CHANGELIST}{dead_letter.pk}/change/").status_code == 200
    assert b"Replay to its group" not in client.get(CHANGELIST).content
    client.post(CHANGELIST, {"action": "replay", "_selected_action": [dead_letter.pk]})

    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.PENDING
