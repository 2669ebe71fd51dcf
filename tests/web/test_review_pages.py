"""The review pages through the test client: full pages and htmx fragments, CSRF, roles."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ReviewDecision, ReviewNote, Rule, UserAction
from app.models.base import utcnow
from app.models.review import OverduePolicy
from app.services.rulesets.rules import delete_rule
from app.services.rulesets.versions import publish
from tests.factories import make_action, rule
from tests.html import (
    alerts,
    definitions,
    field_error,
    flash_messages,
    fragment_root,
    inline_scripts,
    is_fragment,
    option_texts,
    pager_link,
    parse,
    section,
    selected_value,
    table_rows,
    text_of,
)


@pytest.fixture
def review_action(app, tenant):
    make_action(app, tenant.id, "withdraw", rules=[rule("Big amount", 0, "REVIEW", {">": [{"var": "custom.amount"}, 1000]})])


def track(app, api, user="alice", amount=5000) -> int:
    key = api.post(f"/users/{user}/actions/withdraw", json={"custom": {"amount": amount}, "ipAddress": "198.51.100.4"}
                   ).get_json()["idempotencyKey"]
    with app.app_context():
        return db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == key)).scalar_one()


def state(app, action_id: int) -> str:
    with app.app_context():
        return db.session.get(UserAction, action_id).state.value


def htmx(client, path):
    return client.get(path, headers={"HX-Request": "true"})


def listed_cases(page) -> list[int]:
    """The cases the queue lists, in order, by the id their link leads to (which carries the queue's filters)."""
    return [int(urlsplit(link["href"]).path.removeprefix("/review/"))
            for link in parse(page).select("#queue-results tbody a[href]")]


def held_by_you(claim) -> bool:
    """Whether the claim section says "<strong>You</strong> hold this case"."""
    line = next(p for p in claim.find_all("p") if p.strong)
    return text_of(line).startswith("You hold this case") and text_of(line.strong) == "You"


# ---------------------------------------------------------------------------------------------
# Queue


def test_queue_page_lists_cases_with_context_and_filters(app, api, reviewer, review_action):
    case = track(app, api)
    track(app, api, amount=5)  # ALLOW: not listed

    page = reviewer.get("/review/")
    queue = parse(page)

    assert page.status_code == 200 and not is_fragment(page)
    assert listed_cases(queue) == [case]
    [row] = table_rows(queue, "#queue-results table")
    assert row["Deciding rule"] == "Big amount"
    context = queue.select("#queue-results tbody .kv")
    assert [text_of(kv) for kv in context] == ["IP 198.51.100.4", "amount 5000"]
    assert [text_of(kv.code) for kv in context] == ["198.51.100.4", "5000"]
    summary = queue.select_one(".queue-summary")
    assert text_of(summary).startswith("1 case waiting") and text_of(summary.strong) == "1"
    assert queue.find(attrs={"name": "ids"}) is None  # bulk is for admins
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "HX-Request" in page.headers["Vary"]


def test_queue_filters_answer_htmx_with_the_results_fragment(app, api, reviewer, review_action):
    case = track(app, api)

    fragment = htmx(reviewer, "/review/?claim=unclaimed&action=withdraw&age=0")
    none = htmx(reviewer, "/review/?claim=mine")
    bad = reviewer.get("/review/?claim=someone&age=old")

    assert fragment_root(fragment).get("id") == "queue-results"  # an element first: no template comment leaks out
    assert listed_cases(fragment) == [case]
    assert text_of(parse(none).select_one("#queue-results tbody")) == "No case matches these filters."
    [errors] = alerts(bad)
    assert "Claimed: Pick all, mine, unclaimed, or mine or unclaimed." in errors
    assert "Older than: Enter a whole number of minutes" in errors


def test_queue_pages_by_keyset(app, api, reviewer, review_action, monkeypatch):
    from app.services.reviews import queue

    cases = [track(app, api, user=f"u{i}") for i in range(3)]
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)

    first = parse(reviewer.get("/review/"))
    newer = pager_link(first, "next")
    second = parse(htmx(reviewer, newer))
    older = pager_link(second, "prev")
    back = parse(reviewer.get(older))

    assert newer.startswith("/review/?after=") and older.startswith("/review/?before=")
    assert listed_cases(first) == cases[:2]
    assert first.select_one('a[rel~="next"]')["hx-get"] == newer
    assert listed_cases(second) == cases[2:]
    assert listed_cases(back) == cases[:2]


def test_overdue_cases_are_highlighted(app, api, tenant, reviewer, review_action):
    from app.services.reviews import sla

    track(app, api)
    with app.app_context():
        sla.set_review_sla(tenant.id, "withdraw", deadline_minutes=1, policy=OverduePolicy.FLAG)
        db.session.execute(UserAction.__table__.update().values(state_updated_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()

    [row] = parse(reviewer.get("/review/")).select("#queue-results tbody tr")

    assert "overdue" in row.get("class", []) and "Overdue" in text_of(row.select_one(".overdue-tag"))


def test_nav_links_to_the_queue_and_polls_its_count(app, api, reviewer, review_action):
    track(app, api)
    track(app, api, user="bob")

    nav = parse(reviewer.get("/console/activity")).select_one('nav[aria-label="Main"]')
    count = htmx(reviewer, "/review/count")

    queue_link = nav.find("a", href="/review/")
    assert text_of(queue_link).startswith("Review")
    badge = queue_link.select_one("#review-count")
    assert (badge["hx-get"], badge["hx-trigger"]) == ("/review/count", "load, every 30s")
    shown = parse(count)
    assert count.status_code == 200 and shown.find(string=True).strip() == "2"
    assert text_of(shown.select_one(".visually-hidden")) == "cases waiting"


def test_polling_the_count_is_not_activity(app, reviewer):
    with reviewer.client.session_transaction() as session:
        session["seen"] = seen = session["seen"] - 60

    reviewer.get("/review/count")

    with reviewer.client.session_transaction() as session:
        assert session["seen"] == seen


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/review/")

    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# ---------------------------------------------------------------------------------------------
# A case


def test_case_page_shows_context_trace_history_and_forms(app, api, reviewer, review_action):
    earlier = track(app, api)
    api.patch(f"/users/alice/actions/withdraw/{_key(app, earlier)}", json={"state": "REVIEW_FAILED"})
    case = track(app, api)

    page = parse(reviewer.get(f"/review/{case}"))

    text = text_of(page.find("main"))
    for expected in ("Tracked context", "198.51.100.4", "Decision trace", "Big amount", "custom.amount",
                     "Earlier review decisions", "Set through the server API", "Authenticators", "recent actions"):
        assert expected in text, expected
    assert page.find(id="claim") is not None and page.find(id="notes") is not None
    decision = page.find(id="decision")
    assert decision.find("textarea", attrs={"name": "reason"}) is not None
    assert [button["value"] for button in decision.find_all("button", attrs={"name": "decision"})] == ["approve", "reject"]
    assert reviewer.get("/review/424242").status_code == 404


def test_case_says_which_rule_sent_it_to_review_in_the_rules_tab_words_and_where_the_ip_is(
        app, api, tenant, reviewer, review_action):
    [any_rule] = make_action(app, tenant.id, "payout", default_outcome="REVIEW", rules=[
        rule("New device", 0, "REVIEW", {"==": [{"var": "device.isNew"}, True]})])
    british = api.post("/users/alice/actions/withdraw", json={"custom": {"amount": 5000}, "ipAddress": "81.2.69.160"})
    with app.app_context():
        british = db.session.execute(select(UserAction.id).where(
            UserAction.idempotency_key == british.get_json()["idempotencyKey"])).scalar_one()
    private = track(app, api)  # 198.51.100.4: a documentation range, in no country
    by_default = api.post("/users/bo/actions/payout", json={"deviceId": "d1"}).get_json()  # device new: rule
    with app.app_context():
        delete_rule(tenant.id, any_rule)
    no_rule = api.post("/users/bo/actions/payout", json={"deviceId": "d1"}).get_json()  # rule gone: the default
    ids = {}
    with app.app_context():
        for name, key in (("deleted", by_default["idempotencyKey"]), ("default", no_rule["idempotencyKey"])):
            ids[name] = db.session.execute(select(UserAction.id).where(UserAction.idempotency_key == key)).scalar_one()

    def why(case):
        page = parse(reviewer.get(f"/review/{case}"))
        said = " ".join(text_of(p) for p in section(page, "Why it is in review").find_all("p"))
        return said, definitions(page)["IP country"]

    assert why(british) == ("Rule Big amount of version 2 decided: custom.amount is greater than 1000", "GB")
    assert why(private) == ("Rule Big amount of version 2 decided: custom.amount is greater than 1000",
                            "Unknown: a private or unlisted address")
    # Deleted since (in the draft), the rule still reads as the version that decided has it.
    assert why(ids["deleted"]) == ("Rule New device of version 2 decided: device is new",
                                   "Unknown: no IP address was sent")
    assert why(ids["default"])[0] == "No rule matched: the action's default outcome, Review, applied."


def test_the_sentence_is_the_deciding_versions_even_after_the_rule_changed_and_was_published(
        app, api, tenant, reviewer, review_action):
    case = track(app, api)
    with app.app_context():
        big = db.session.execute(select(Rule).where(Rule.name == "Big amount")).scalar_one()
        big.conditions = {">": [{"var": "custom.amount"}, 2000]}
        db.session.commit()
        publish("cli", tenant.id, "withdraw", note="Only above 2000.")

    why = section(reviewer.get(f"/review/{case}"), "Why it is in review")

    assert text_of(why.select_one(".rule-sentence")) == "custom.amount is greater than 1000"
    assert "changed after this decision" not in text_of(why)


def test_a_case_tracked_before_versions_reads_the_rule_as_it_is_now_and_says_when_it_changed(
        app, api, tenant, reviewer, review_action):
    case = track(app, api)
    with app.app_context():
        db.session.get(UserAction, case).action_version_id = None  # tracked before rule-set versions
        big = db.session.execute(select(Rule).where(Rule.name == "Big amount")).scalar_one()
        big.conditions = {">": [{"var": "custom.amount"}, 2000]}
        big.updated_at = utcnow() + timedelta(seconds=1)
        db.session.commit()

    why = section(reviewer.get(f"/review/{case}"), "Why it is in review")

    assert text_of(why.select_one(".rule-sentence")) == "custom.amount is greater than 2000"
    assert "changed after this decision" in text_of(why)
    with app.app_context():
        delete_rule(tenant.id, big.id)
        publish("cli", tenant.id, "withdraw", note="No more big-amount reviews.")
    assert "The rule was deleted since." in text_of(section(reviewer.get(f"/review/{case}"), "Why it is in review"))


def _key(app, action_id):
    with app.app_context():
        return db.session.get(UserAction, action_id).idempotency_key


def test_claim_and_release_with_htmx_swap_the_claim_section(app, api, reviewer, review_action):
    case = track(app, api)

    claimed = reviewer.post(f"/review/{case}/claim", htmx=True)
    released = reviewer.post(f"/review/{case}/release", htmx=True)

    section = fragment_root(claimed)
    assert claimed.status_code == 200 and (section.name, section.get("id")) == ("section", "claim")
    assert held_by_you(section)
    assert "Nobody holds this case" in text_of(fragment_root(released))


def test_claim_without_javascript_returns_to_the_case(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/claim")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/review/{case}")
    assert held_by_you(parse(reviewer.get(f"/review/{case}")).find(id="claim"))


def test_a_case_held_by_someone_else_is_refused_in_place(app, api, admin, reviewer, review_action):
    case = track(app, api)
    reviewer.post(f"/review/{case}/claim")

    fragment = admin.post(f"/review/{case}/claim", htmx=True)
    page = admin.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})

    assert fragment.status_code == 409 and alerts(fragment) == ["This case is claimed by reviewer@example.com."]
    assert fragment_root(fragment).has_attr("data-swap-errors")
    assert page.status_code == 409 and not is_fragment(page)
    assert state(app, case) == "REVIEW_REQUIRED"


def test_notes_with_htmx_and_without(app, api, reviewer, review_action):
    case = track(app, api)

    added = reviewer.post(f"/review/{case}/notes", data={"text": "Called the customer <b>ok</b>"}, htmx=True)
    empty = reviewer.post(f"/review/{case}/notes", data={"text": "  "}, htmx=True)
    plain = reviewer.post(f"/review/{case}/notes", data={"text": "Second note"})
    plain_empty = reviewer.post(f"/review/{case}/notes", data={"text": ""})

    notes = fragment_root(added)
    assert added.status_code == 200 and notes.get("id") == "notes"
    [note] = notes.select(".note-list li")
    # The note reads as typed, as text: no <b> element came of it. Escaping is about the bytes sent,
    # so the raw markup must not be in them either.
    assert text_of(note.select_one(".note-text")) == "Called the customer <b>ok</b>" and note.find("b") is None
    assert "<b>ok</b>" not in added.get_data(as_text=True)
    assert text_of(note.select_one(".note-meta strong")) == "reviewer@example.com"
    assert empty.status_code == 400 and field_error(empty, "note", control="note-text") == "Write the note first."
    assert plain.status_code == 303
    assert plain_empty.status_code == 400 and not is_fragment(plain_empty)
    with app.app_context():
        assert [n.text for n in db.session.execute(select(ReviewNote)).scalars()] == [
            "Called the customer <b>ok</b>", "Second note"]


def test_deciding_with_htmx_redirects_to_the_decided_case_with_a_next_link(app, api, reviewer, review_action):
    case = track(app, api)
    newer = track(app, api, user="bob")

    response = reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "Known payee"}, htmx=True)
    decision = parse(reviewer.get(f"/review/{case}")).find(id="decision")
    next_case = reviewer.get("/review/next")

    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/review/{case}"
    assert state(app, case) == "REVIEW_SUCCEEDED"
    assert text_of(decision.select_one(".badge")) == "Approved" and text_of(decision.select_one(".reason")) == "Known payee"
    assert decision.find("a", id="next-case")["href"] == "/review/next"
    assert next_case.status_code == 302 and next_case.headers["Location"].endswith(f"/review/{newer}")


def test_deciding_without_javascript(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/decision", data={"decision": "reject", "reason": "Mule"})

    assert response.status_code == 303 and state(app, case) == "REVIEW_FAILED"


def follow(client, response) -> str:
    """Where a decision sends the browser: the HX-Redirect, then /review/next's redirect, as a path with query."""
    target = response.headers.get("HX-Redirect") or response.headers["Location"]
    landed = client.get(target)
    location = urlsplit(landed.headers["Location"])
    return f"{location.path}?{location.query}" if location.query else location.path


def test_approve_and_next_goes_to_the_next_case_of_the_same_filtered_queue(app, api, tenant, reviewer, review_action):
    make_action(app, tenant.id, "payout", rules=[rule("Any", 0, "REVIEW")])
    first, other_action, second = track(app, api, user="ann"), None, None
    other_action = api.post("/users/zed/actions/payout", json={}).get_json()
    second = track(app, api, user="bob")

    case_page = parse(reviewer.get(f"/review/{first}?action=withdraw"))
    form = case_page.find("form", attrs={"hx-post": f"/review/{first}/decision"})
    response = reviewer.post(f"/review/{first}/decision", htmx=True,
                             data={"decision_next": "approve", "reason": "Known payee", "action": "withdraw"})

    assert other_action["state"] == "REVIEW_REQUIRED"
    assert form.find("input", attrs={"type": "hidden", "name": "action"})["value"] == "withdraw"
    assert [b.get_text() for b in form.find_all("button", attrs={"name": "decision_next"})] == [
        "Approve and next", "Reject and next"]
    assert case_page.select_one(".crumbs a")["href"] == "/review/?action=withdraw"
    assert response.status_code == 204
    assert parse_qs(urlsplit(response.headers["HX-Redirect"]).query) == {"after": [str(first)], "action": ["withdraw"]}
    assert state(app, first) == "REVIEW_SUCCEEDED"
    assert follow(reviewer, response) == f"/review/{second}?action=withdraw"  # not the payout case, though older
    assert flash_messages(reviewer.get(f"/review/{second}")) == [f"Approved case #{first}."]


def test_reject_and_next_on_the_last_case_ends_on_the_empty_queue(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/decision", data={"decision_next": "reject", "reason": "Mule",
                                                               "claim": "available"})

    assert response.status_code == 303 and state(app, case) == "REVIEW_FAILED"
    assert follow(reviewer, response) == "/review/?claim=available"
    queue = reviewer.get("/review/?claim=available")
    assert flash_messages(queue) == [f"Rejected case #{case}.", "No case left in this queue: nothing else matches its filters."]
    assert text_of(parse(queue).select_one("#queue-results tbody")) == "No case matches these filters."


def test_next_after_a_case_skips_cases_others_hold_and_wraps_round(app, api, admin, reviewer, review_action):
    oldest, held, current, newest = (track(app, api, user=u) for u in ("ann", "bob", "cy", "dee"))
    admin.post(f"/review/{held}/claim")

    def next_after(case):
        landed = reviewer.get(f"/review/next?after={case}")
        return int(urlsplit(landed.headers["Location"]).path.removeprefix("/review/"))

    skip = parse(reviewer.get(f"/review/{current}")).find(id="skip-case")

    assert skip["href"] == f"/review/next?after={current}" and skip["data-shortcut"] == "n"
    assert next_after(current) == newest
    assert next_after(newest) == oldest  # the end reached: round to the oldest
    assert next_after(oldest) == current  # bob's case is the admin's: skipped
    assert next_after("x") == oldest and next_after("9" * 40) == oldest  # not a case: from the start


def test_and_next_on_a_case_decided_meanwhile_is_refused_in_place(app, api, admin, reviewer, review_action):
    case = track(app, api)
    admin.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})

    again = reviewer.post(f"/review/{case}/decision", data={"decision_next": "reject", "reason": "no"}, htmx=True)

    assert again.status_code == 409 and any("already decided" in alert for alert in alerts(again))
    assert state(app, case) == "REVIEW_SUCCEEDED"


def listed_shortcuts(page) -> dict[str, str]:
    """The page's "Keyboard shortcuts" list: key → what it does."""
    return {text_of(item.dt): text_of(item.dd) for item in parse(page).select("#shortcuts dl > div")}


def shortcut_targets(page) -> dict[str, str]:
    """What each shortcut key activates on the page (the element's text), asserting one element a key."""
    elements = parse(page).select("[data-shortcut]")
    keys = [element["data-shortcut"] for element in elements]
    assert len(keys) == len(set(keys)), keys
    assert all(element["aria-keyshortcuts"] == element["data-shortcut"] for element in elements)
    return {element["data-shortcut"]: text_of(element) for element in elements}


def test_queue_and_case_pages_list_their_keyboard_shortcuts(app, api, reviewer, review_action):
    case = track(app, api)

    queue, open_case = reviewer.get("/review/"), reviewer.get(f"/review/{case}")
    reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})
    decided = reviewer.get(f"/review/{case}")

    assert list(listed_shortcuts(queue)) == ["j", "k", "Enter", "n", "Esc", "?"]
    assert shortcut_targets(queue) == {"n": "Start with the oldest case"}
    assert parse(queue).select("tr[data-queue-row]")  # what j and k move through
    assert listed_shortcuts(open_case)["a"] == "Approve and go to the next case"
    assert list(listed_shortcuts(open_case)) == ["a", "r", "n", "Esc", "?"]
    assert shortcut_targets(open_case) == {"a": "Approve and next", "r": "Reject and next",
                                           "n": "Skip to the next case →"}
    assert shortcut_targets(decided) == {"n": "Next case →"}  # nothing left to approve or reject here
    assert inline_scripts(queue) == inline_scripts(open_case) == []


def test_a_decision_needs_a_reason_and_a_valid_choice(app, api, reviewer, review_action):
    case = track(app, api)

    no_reason = reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": " "}, htmx=True)
    no_choice = reviewer.post(f"/review/{case}/decision", data={"decision": "maybe", "reason": "hm"}, htmx=True)

    assert no_reason.status_code == 400
    assert field_error(no_reason, "decision", control="decision-reason").startswith("Give a reason")
    assert no_choice.status_code == 400 and alerts(no_choice) == ["Choose approve or reject."]
    kept = parse(no_choice)  # what was typed stays in the reason box (its text, not some value attribute)
    assert kept.find("textarea", attrs={"name": "reason"}).get_text() == "hm" and kept.find(attrs={"value": "hm"}) is None
    assert state(app, case) == "REVIEW_REQUIRED"


def test_a_second_decision_is_refused(app, api, admin, reviewer, review_action):
    case = track(app, api)
    reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"})

    again = admin.post(f"/review/{case}/decision", data={"decision": "reject", "reason": "no"}, htmx=True)

    assert again.status_code == 409 and any("already decided" in alert for alert in alerts(again))
    with app.app_context():
        assert len(db.session.execute(select(ReviewDecision)).all()) == 1


def test_next_case_with_an_empty_queue_goes_back_to_the_queue(reviewer):
    response = reviewer.get("/review/next")

    assert response.status_code == 302 and response.headers["Location"].endswith("/review/")


@pytest.mark.parametrize("path", ["claim", "release", "notes", "decision"])
def test_changes_without_a_csrf_token_are_refused(app, api, reviewer, review_action, path):
    case = track(app, api)

    response = reviewer.client.post(f"/review/{case}/{path}", data={"text": "x", "decision": "approve", "reason": "x"})

    assert response.status_code == 400
    assert state(app, case) == "REVIEW_REQUIRED"
    with app.app_context():
        assert db.session.execute(select(ReviewNote)).first() is None


# ---------------------------------------------------------------------------------------------
# Reason codes


def test_a_reviewer_picks_a_reason_code_and_the_decision_keeps_it(app, api, reviewer, review_action):
    coded, both = track(app, api), track(app, api, user="bob")
    picker = parse(reviewer.get(f"/review/{coded}")).select_one("#decision fieldset.reason-codes")

    reviewer.post(f"/review/{coded}/decision", data={"decision": "reject", "reason_code": "fraud", "reason": " "})
    reviewer.post(f"/review/{both}/decision", data={"decision": "approve", "reason_code": "confirmed-by-customer",
                                                    "reason": "Called her back"})

    assert {radio["value"]: text_of(picker.find("label", attrs={"for": radio["id"]}))
            for radio in picker.find_all("input", attrs={"name": "reason_code"})} == {
        "confirmed-by-customer": "Confirmed by customer", "fraud": "Fraud", "policy": "Policy",
        "": "Other (write it below)"}
    with app.app_context():
        decided = {d.user_action_id: (d.reason_code, d.reason_label, d.reason)
                   for d in db.session.execute(select(ReviewDecision)).scalars()}
    assert decided == {coded: ("fraud", "Fraud", "Fraud"),
                       both: ("confirmed-by-customer", "Confirmed by customer", "Called her back")}
    shown = parse(reviewer.get(f"/review/{both}")).find(id="decision")
    assert text_of(shown.select_one(".reason-code")) == "Confirmed by customer"
    assert text_of(shown.select_one(".reason")) == "Called her back"
    later = track(app, api, user="bob")
    [earlier] = table_rows(parse(reviewer.get(f"/review/{later}")), "section[aria-labelledby=earlier-heading] table")
    assert earlier["Reason"] == "Confirmed by customer: Called her back"


@pytest.mark.parametrize(("data", "message"), [
    ({"reason_code": "", "reason": ""}, "Give a reason for the decision."),
    ({"reason_code": "made-up", "reason": "x"}, "Pick a reason from the list."),
])
def test_a_reason_code_not_on_the_list_or_none_at_all_is_refused_in_place(app, api, reviewer, review_action, data,
                                                                          message):
    case = track(app, api)

    response = reviewer.post(f"/review/{case}/decision", data={"decision_next": "approve", **data}, htmx=True)

    assert response.status_code == 400 and alerts(response) == [message]
    assert fragment_root(response).get("id") == "decision"
    assert state(app, case) == "REVIEW_REQUIRED"


def test_bulk_decisions_carry_a_reason_code_too(app, api, admin, review_action):
    case = track(app, api)

    admin.post("/review/bulk", data={"ids": [str(case)], "decision": "reject", "reason_code": "policy", "reason": ""})

    assert state(app, case) == "REVIEW_FAILED"
    with app.app_context():
        assert db.session.execute(select(ReviewDecision.reason_code)).scalar_one() == "policy"


def test_activity_is_filtered_by_review_reason(app, api, reviewer, review_action):
    fraud, policy, open_case = track(app, api), track(app, api, user="bob"), track(app, api, user="cy")
    reviewer.post(f"/review/{fraud}/decision", data={"decision": "reject", "reason_code": "fraud"})
    reviewer.post(f"/review/{policy}/decision", data={"decision": "approve", "reason_code": "policy"})

    def listed(query):
        page = parse(reviewer.get(f"/console/activity{query}"))
        return [int(a["href"].removeprefix("/console/activity/")) for a in page.select("#activity-results tbody a[href]")
                if a["href"].removeprefix("/console/activity/").isdigit()]

    bad = reviewer.get("/console/activity?reason=Not%20a%20code")

    assert listed("?reason=fraud") == [fraud]
    assert listed("?reason=policy&user=bob") == [policy]
    assert listed("?reason=fraud&user=bob") == []
    assert set(listed("")) == {fraud, policy, open_case}
    assert option_texts(reviewer.get("/console/activity?reason=fraud"), "reason") == {
        "": "Any (or none)", "confirmed-by-customer": "Confirmed by customer", "fraud": "Fraud", "policy": "Policy"}
    assert selected_value(reviewer.get("/console/activity?reason=fraud"), "reason") == "fraud"
    assert bad.status_code == 200 and field_error(bad, "filter-reason") == "Pick a reason from the list."
    assert alerts(bad) == ["Review reason: Pick a reason from the list."]


# ---------------------------------------------------------------------------------------------
# Assigning (admins)


def claim_column(client) -> dict[int, str]:
    """The queue's Claim column, by case."""
    page = parse(client.get("/review/"))
    rows = table_rows(page, "#queue-results table")
    return dict(zip(listed_cases(page), (row["Claim"] for row in rows), strict=True))


def member_id(app, email: str) -> str:
    from app.models import ConsoleUser

    with app.app_context():
        return db.session.execute(select(ConsoleUser.id).where(ConsoleUser.email == email)).scalar_one()


def test_an_admin_assigns_a_case_to_a_named_reviewer_who_then_holds_it(app, api, admin, reviewer, review_action):
    from tests.web.conftest import audit_events

    case = track(app, api)
    reviewer.post(f"/review/{case}/claim")  # a self-claim first: the assignment takes its place
    form = parse(admin.get(f"/review/{case}")).find("form", attrs={"hx-post": f"/review/{case}/assign"})

    assigned = admin.post(f"/review/{case}/assign", data={"assignee": member_id(app, "admin@example.com")}, htmx=True)
    reassigned = admin.post(f"/review/{case}/assign", data={"assignee": member_id(app, "reviewer@example.com")},
                            htmx=True)

    assert option_texts(form, "assignee") == {member_id(app, "admin@example.com"): "admin@example.com (admin)",
                                              member_id(app, "reviewer@example.com"): "reviewer@example.com (reviewer)"}
    assert assigned.status_code == 200 and fragment_root(assigned).get("id") == "claim"
    assert text_of(fragment_root(reassigned).p).startswith(
        "Assigned to reviewer@example.com: assigned by admin@example.com")
    assert claim_column(admin) == {case: "reviewer@example.com (assigned)"}
    assert claim_column(reviewer) == {case: "you (assigned)"}
    assert [(e.before, e.after) for e in audit_events(app, "review.assigned")] == [
        ({"claimedBy": "reviewer@example.com"}, {"assignedTo": "admin@example.com"}),
        ({"claimedBy": "admin@example.com"}, {"assignedTo": "reviewer@example.com"})]
    # The assignee decides it; the admin, no longer its holder, could not have.
    assert admin.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "x"}).status_code == 409
    assert reviewer.post(f"/review/{case}/decision", data={"decision": "approve", "reason": "ok"}).status_code == 303
    assert state(app, case) == "REVIEW_SUCCEEDED"


def test_an_assignment_does_not_lapse_and_working_on_it_keeps_it(app, api, admin, reviewer, review_action):
    from app.config import current_settings
    from app.models import ConsoleUser
    from app.services.reviews import cases

    case = track(app, api)
    admin.post(f"/review/{case}/assign", data={"assignee": member_id(app, "reviewer@example.com")})
    reviewer.post(f"/review/{case}/notes", data={"text": "Calling them"})
    reviewer.post(f"/review/{case}/claim")

    later = utcnow() + timedelta(days=3)
    with app.app_context():
        holder = cases.claim_holder(case, viewer_id=None, now=later)
        other = db.session.execute(select(ConsoleUser).where(ConsoleUser.email == "admin@example.com")).scalar_one()
        with pytest.raises(cases.Conflict):
            cases.claim_case(other, case, settings=current_settings(), now=later)
    assert holder.holder_email == "reviewer@example.com" and holder.expires_at is None
    assert parse(reviewer.get(f"/review/{case}")).find("button", string="Keep it longer") is None


def test_reviewers_cannot_assign(app, api, admin, reviewer, review_action):
    case = track(app, api)

    page = parse(reviewer.get(f"/review/{case}"))
    response = reviewer.post(f"/review/{case}/assign", data={"assignee": member_id(app, "reviewer@example.com")})

    assert page.find("form", attrs={"action": f"/review/{case}/assign"}) is None
    assert response.status_code == 403
    assert claim_column(reviewer) == {case: "unclaimed"}


@pytest.mark.parametrize("assignee", ["", "nobody", "disabled"])
def test_assigning_to_someone_not_on_the_team_is_refused_in_place(app, api, admin, make_console_user, review_action,
                                                                  assignee):
    from app.models import ConsoleUser

    case = track(app, api)
    if assignee == "disabled":
        assignee = make_console_user("gone@example.com", "reviewer")
        with app.app_context():
            db.session.get(ConsoleUser, assignee).disabled_at = utcnow()
            db.session.commit()

    response = admin.post(f"/review/{case}/assign", data={"assignee": assignee}, htmx=True)
    plain = admin.post(f"/review/{case}/assign", data={"assignee": assignee})

    assert response.status_code == 400 and alerts(response) == ["Pick a member of the team to assign the case to."]
    assert plain.status_code == 400 and not is_fragment(plain)
    assert claim_column(admin) == {case: "unclaimed"}


# ---------------------------------------------------------------------------------------------
# Bulk (admins)


def test_admins_bulk_decide_the_ticked_cases(app, api, admin, review_action):
    first, second, untouched = track(app, api), track(app, api, user="bob"), track(app, api, user="cy")

    queue = parse(admin.get("/review/?action=withdraw")).select_one("form.bulk")
    response = admin.post("/review/bulk", data={"ids": [str(first), str(second)], "decision": "reject",
                                                "reason": "Fraud ring", "action": "withdraw"})

    assert [box["value"] for box in queue.find_all("input", attrs={"name": "ids"})] == [str(first), str(second),
                                                                                        str(untouched)]
    assert queue.find("input", attrs={"type": "hidden", "name": "action"})["value"] == "withdraw"
    assert response.status_code == 303 and response.headers["Location"].endswith("/review/?action=withdraw")
    assert (state(app, first), state(app, second), state(app, untouched)) == ("REVIEW_FAILED", "REVIEW_FAILED",
                                                                            "REVIEW_REQUIRED")
    assert flash_messages(admin.get("/review/")) == ["Rejected 2 cases."]


def test_bulk_without_a_reason_changes_nothing(app, api, admin, review_action):
    case = track(app, api)

    admin.post("/review/bulk", data={"ids": [str(case)], "decision": "approve", "reason": ""})

    assert state(app, case) == "REVIEW_REQUIRED"
    assert flash_messages(admin.get("/review/")) == ["Give a reason for the decision."]



def test_reviewers_cannot_bulk_decide(app, api, reviewer, review_action):
    case = track(app, api)

    response = reviewer.post("/review/bulk", data={"ids": [str(case)], "decision": "approve", "reason": "x"})

    assert response.status_code == 403 and state(app, case) == "REVIEW_REQUIRED"
