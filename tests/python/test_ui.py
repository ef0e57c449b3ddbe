"""The web UI in Debian's Chromium (headless, through Playwright) against a hub filled by
`kevents simulate`, with tokens and a policy: every view loads, filters change the rows, new
events appear live, a reader allowed one namespace sees only it, API errors are shown, and
hostile strings stay text."""

import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, Hub, core_event
from ui_browser import browser_context, chromium_available, open_view, sign_in

pytestmark = pytest.mark.skipif(not chromium_available(),
                                reason="needs Debian's chromium and the PyPI playwright package")

ADMIN = "ui-admin-token"
READER = "ui-reader-token"
POLICY = """rules:
- groups: [ops]
  verbs: ["*"]
- users: [reader]
  verbs: [get, list, watch]
  namespaces: [payments]
"""
# Beside the built-in pack: one alert per namespace for a probe reason, one that resolves two
# seconds after its event, and one that stays pending for an hour.
RULES = """rules:
- name: UiProbeFailing
  match: {reason: UiProbeFailing}
  groupBy: [namespace, reason]
  resolveAfter: 10m
  labels: {severity: critical}
  annotations: {summary: "{{ objects }}: {{ message }}"}
- name: UiBlip
  match: {reason: UiBlip}
  groupBy: [namespace]
  resolveAfter: 2s
  labels: {severity: warning}
- name: UiSlowBurn
  match: {reason: UiSlowBurn}
  for: 1h
  labels: {severity: info}
"""


@pytest.fixture(scope="module")
def ui_hub(tmp_path_factory):
    """A hub with tokens and a policy, filled with 3,000 simulated operations."""
    tmp = tmp_path_factory.mktemp("ui")
    tokens = tmp / "tokens.csv"
    tokens.write_text(f'{ADMIN},admin,u1,"ops"\n{READER},reader,u2\n')
    policy = tmp / "policy.yaml"
    policy.write_text(POLICY)
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    # `simulate` writes without a token: fill the store first, then serve it with the policy.
    filling = Hub(tmp / "data").start()
    try:
        subprocess.run([BIN, "simulate", "--to", filling.url, "--events", "3000", "--rate", "0",
                        "--duration", "60s"], check=True, capture_output=True, timeout=120)
    finally:
        filling.stop()
    hub = Hub(tmp / "data", ["--token-auth-file", str(tokens), "--authorization-policy-file", str(policy),
                             "--rules", str(rules)])
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def browser():
    with browser_context() as context:
        yield context


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def write(hub, body, namespace="default"):
    status, answer, _ = hub.request("POST", f"/api/v1/namespaces/{namespace}/events", body,
                                    headers={"Authorization": f"Bearer {ADMIN}"})
    assert status == 201, answer
    return answer


def rows(page):
    return page.locator(".vlist .row:not([hidden])")


def test_ui_answers_carry_a_strict_content_security_policy(ui_hub):
    for path in ["/ui/", "/ui/js/app.js", "/ui/app.css"]:
        with urllib.request.urlopen(ui_hub.url + path) as answer:
            csp = answer.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp, path
            assert "unsafe-inline" not in csp


def test_events_view_lists_simulated_events_newest_first(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/events?range=24h")
    assert rows(page).count() > 10
    status = page.locator(".status").inner_text()
    assert int(status.split()[0]) > 1000, status
    titles = page.locator(".vlist .row:not([hidden]) .c-time").evaluate_all(
        "els => els.map(e => e.closest('.row').dataset.index + '|' + e.title)")
    ordered = [t.split("|", 1)[1] for t in sorted(titles, key=lambda t: int(t.split("|")[0]))]
    assert ordered == sorted(ordered, reverse=True)


def test_filters_change_the_rows_and_the_url(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/events?range=24h")
    everything = int(page.locator(".status").inner_text().split()[0])
    page.select_option("#f-type", "Warning")
    page.wait_for_function("n => parseInt(document.querySelector('.status').textContent) !== n"
                           " && document.querySelector('main').dataset.ready === '1'", arg=everything)
    assert "type=Warning" in page.url
    warnings = int(page.locator(".status").inner_text().split()[0])
    assert 0 < warnings < everything
    types = rows(page).locator(".type .word").all_inner_texts()
    assert types and set(types) == {"Warning"}
    # Free text narrows in the page.
    page.fill("#f-q", "readiness probe")
    page.wait_for_function("n => parseInt(document.querySelector('.status').textContent) < n", arg=warnings)
    reasons = rows(page).locator(".c-reason").all_inner_texts()
    assert reasons and set(reasons) == {"Unhealthy"}
    # The URL holds the state: a fresh tab at that URL (its own token: tabs share none) shows
    # the same rows.
    other = page.context.new_page()
    sign_in(other, ui_hub.url, ADMIN, "#" + page.url.split("#", 1)[1])
    assert other.locator(".status").inner_text() == page.locator(".status").inner_text()
    other.close()
    # Back returns to every type, in the rows and in the form.
    page.go_back()
    page.wait_for_function("n => parseInt(document.querySelector('.status').textContent) === n"
                           " && document.querySelector('main').dataset.ready === '1'", arg=everything)
    assert page.input_value("#f-type") == ""


def test_a_new_event_appears_live_within_two_seconds(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/events?ns=default")
    page.wait_for_selector("#live:not([hidden])")
    write(ui_hub, core_event("live-one", reason="LiveProbe", message="written while the page watches"))
    written = time.monotonic()
    page.locator(".vlist .row", has_text="written while the page watches").wait_for(timeout=2000)
    assert time.monotonic() - written < 2.0


def test_a_script_in_a_message_is_shown_as_text_and_never_runs(ui_hub, page):
    hostile = ('<script>window.__owned = 1</script><img src=x onerror="window.__owned = 2">'
               ' \u202eevil\u202c ' + "x" * 5000)
    write(ui_hub, core_event("hostile-one", reason="Hostile<b>", message=hostile))
    sign_in(page, ui_hub.url, ADMIN, "#/events?ns=default&reason=Hostile<b>")
    row = rows(page).first
    assert row.locator(".c-msg").inner_text().startswith("<script>window.__owned = 1</script>")
    assert row.locator(".c-reason").inner_text() == "Hostile<b>"
    assert page.evaluate("window.__owned") is None
    assert page.locator(".vlist script, .vlist img").count() == 0


def test_a_reader_allowed_one_namespace_sees_only_that_namespace(ui_hub, page):
    sign_in(page, ui_hub.url, READER, "#/events?ns=payments&range=24h")
    namespaces = set(rows(page).locator(".c-ns").all_inner_texts())
    assert namespaces == {"payments"}
    # Across all namespaces the hub refuses, and the page says so.
    open_view(page, ui_hub.url, "#/events")
    assert "forbidden" in page.locator("#error").inner_text()
    assert rows(page).count() == 0


def test_an_api_error_is_shown_as_a_message_not_a_blank_page(ui_hub, page):
    sign_in(page, ui_hub.url, None, "#/events")
    error = page.locator("#error")
    assert error.is_visible()
    assert "401" in error.inner_text() and "token" in error.inner_text()
    assert page.locator("header nav a").count() == 6


def admin_get(hub, path):
    status, answer, _ = hub.request("GET", path, headers={"Authorization": f"Bearer {ADMIN}"})
    assert status == 200, answer
    return answer


@pytest.mark.parametrize("view, ready_selector", [
    ("#/timeline?range=6h", "svg.chart .bar"),
    ("#/patterns", ".patterns table tbody tr"),
    ("#/clusters", ".clusters table tbody tr"),
    ("#/alerts", ".alerts"),
    ("#/object", ".object form"),
])
def test_each_view_loads_against_the_simulated_hub(ui_hub, page, view, ready_selector):
    sign_in(page, ui_hub.url, ADMIN, view)
    assert page.locator(ready_selector).count() > 0
    assert not page.locator("#error").is_visible(), page.locator("#error").inner_text()


def test_the_timeline_counts_what_the_hub_holds_and_a_bar_opens_its_events(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/timeline?range=6h")
    held = admin_get(ui_hub, "/apis/kevents.io/v1/eventcounts?by=type&since=6h")["total"]["events"]
    assert page.locator(".status").inner_text().startswith(f"{held} events")
    heights = page.locator("svg.chart .bar rect.normal").evaluate_all(
        "els => els.map(e => parseFloat(e.getAttribute('height')))")
    tallest = max(range(len(heights)), key=lambda i: heights[i])
    page.locator("svg.chart .bar").nth(tallest).click()
    page.wait_for_selector("section.events")
    page.wait_for_selector("main[data-ready='1']")
    assert "from=" in page.url and "to=" in page.url
    assert rows(page).count() > 0


def test_dragging_across_the_timeline_zooms_into_that_range(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/timeline?range=24h")
    box = page.locator("svg.chart").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.98, y, steps=5)
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('from=')")
    page.wait_for_selector("main[data-ready='1']")
    assert "reset zoom" in page.locator(".status").inner_text()


def test_the_object_view_of_a_crash_looping_pod_shows_its_restarts_and_owners(ui_hub, page):
    backoffs = admin_get(ui_hub, "/api/v1/events?fieldSelector=reason%3DBackOff")["items"]
    pod = max(backoffs, key=lambda e: e["count"])["involvedObject"]
    namespace, name = pod["namespace"], pod["name"]
    held = admin_get(ui_hub, f"/api/v1/namespaces/{namespace}/events"
                             f"?fieldSelector=involvedObject.name%3D{name},reason%3DBackOff")["items"]
    restarts = sum(e["count"] for e in held)
    assert restarts > 1
    sign_in(page, ui_hub.url, ADMIN, f"#/object?kind=Pod&ns={namespace}&name={name}")
    assert page.locator(".card.restarts b").inner_text() == str(restarts)
    replicaset = name.rsplit("-", 1)[0]
    deployment = replicaset.rsplit("-", 1)[0]
    owners = page.locator(".chain a.owner").all_inner_texts()
    assert owners[0].startswith(f"ReplicaSet/{replicaset}") and owners[1].startswith(f"Deployment/{deployment}")
    assert page.locator(".object table").first.locator("tbody tr").count() >= 1
    # An owner opens its own history.
    page.locator(".chain a.owner").first.click()
    page.wait_for_function("() => location.hash.includes('kind=ReplicaSet')")


def test_the_keyboard_filters_moves_and_opens(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/events?range=24h&type=Warning")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "f-q"
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    selected = page.locator(".vlist .row.selected")
    assert selected.count() == 1 and selected.get_attribute("data-index") == "0"
    name = selected.locator(".c-object").inner_text().split("/", 1)[1]
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash.startsWith('#/object')")
    page.wait_for_selector("main[data-ready='1']")
    assert name in page.locator(".object h2").inner_text()


def probe(hub, namespace, pod, reason="UiProbeFailing", message="readiness probe failed"):
    write(hub, core_event(f"{pod}.{reason.lower()}", namespace, reason=reason, type="Warning", message=message,
                          involvedObject={"kind": "Pod", "namespace": namespace, "name": pod,
                                          "uid": f"uid-{pod}", "apiVersion": "v1"}), namespace)


def alert_rows(page, state):
    return page.locator(f".alert-group[data-state='{state}'] tr.alert-row")


def test_the_alerts_view_lists_a_firing_alert_and_opens_the_events_behind_it(ui_hub, page):
    probe(ui_hub, "payments", "ledger-0", message="<script>window.__owned = 3</script>probe failed")
    probe(ui_hub, "checkout", "cart-0")
    probe(ui_hub, "checkout", "cart-9", reason="UiSlowBurn")
    sign_in(page, ui_hub.url, ADMIN, "#/alerts?rule=Ui")
    firing = alert_rows(page, "firing")
    firing.filter(has_text="payments").wait_for(timeout=10_000)
    firing.filter(has_text="checkout").wait_for(timeout=10_000)
    assert set(firing.locator(".c-rule").all_inner_texts()) == {"UiProbeFailing"}
    alert_rows(page, "pending").filter(has_text="UiSlowBurn").wait_for(timeout=10_000)
    # The built-in pack's alerts of the simulated events are listed too, without the filter.
    page.select_option("#f-state", "firing")
    page.fill("#f-rule", "")
    page.wait_for_function("() => !location.hash.includes('rule=') && location.hash.includes('state=firing')")
    page.wait_for_function("() => document.querySelectorAll('.alert-group tr.alert-row').length > 2")
    assert page.locator(".alert-group[data-state='pending']").count() == 0
    # The URL holds the filters; a row opens its alert and the events that caused it.
    open_view(page, ui_hub.url, "#/alerts?rule=UiProbe&ns=payments")
    alert_rows(page, "firing").first.click()
    page.wait_for_function("() => location.hash.includes('sel=')")
    detail = page.locator(".alert-detail")
    detail.wait_for()
    assert "<script>window.__owned = 3</script>probe failed" in detail.locator(".annotation").inner_text()
    assert page.evaluate("window.__owned") is None
    events = detail.locator(".alert-events tbody tr")
    assert events.count() == 1
    assert events.first.locator("a.object-link").inner_text() == "Pod/ledger-0"
    assert events.first.locator("a.events-link").inner_text() == "ledger-0.uiprobefailing"
    # Its event opens in the Events view, its object in the Object view.
    other = page.context.new_page()
    sign_in(other, ui_hub.url, ADMIN, events.first.locator("a.events-link").get_attribute("href"))
    assert rows(other).count() == 1 and rows(other).first.locator(".c-reason").inner_text() == "UiProbeFailing"
    other.close()
    events.first.locator("a.object-link").click()
    page.wait_for_function("() => location.hash.startsWith('#/object')")
    page.wait_for_selector("main[data-ready='1']")
    assert "ledger-0" in page.locator(".object h2").inner_text()


def test_a_resolved_alert_moves_under_resolved_live(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/alerts?rule=UiBlip")
    page.wait_for_selector("#live:not([hidden])")
    probe(ui_hub, "checkout", "blip-0", reason="UiBlip")
    alert_rows(page, "firing").first.wait_for(timeout=10_000)
    alert_rows(page, "resolved").first.wait_for(timeout=15_000)
    assert alert_rows(page, "firing").count() == 0
    assert "resolved" in alert_rows(page, "resolved").first.locator(".c-time").inner_text()
    # Keyboard: j selects the first row, Enter opens it, Esc closes it.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.locator(".alert-detail").wait_for()
    assert "blip-0" in page.locator(".alert-events").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_function("() => !location.hash.includes('sel=')")


def test_a_reader_allowed_one_namespace_sees_only_its_alerts(ui_hub, page):
    probe(ui_hub, "payments", "ledger-1")
    probe(ui_hub, "checkout", "cart-1")
    sign_in(page, ui_hub.url, READER, "#/alerts?ns=payments")
    alert_rows(page, "firing").filter(has_text="UiProbeFailing").first.wait_for(timeout=10_000)
    namespaces = set(page.locator(".alert-group tr.alert-row .c-ns").all_inner_texts())
    assert namespaces == {"payments"}
    open_view(page, ui_hub.url, "#/alerts")
    assert "forbidden" in page.locator("#error").inner_text()
    assert page.locator(".alert-group tr.alert-row").count() == 0


def test_a_collecting_cluster_appears_in_the_clusters_view_live(ui_hub, page):
    sign_in(page, ui_hub.url, ADMIN, "#/clusters")
    page.wait_for_selector("#live:not([hidden])")
    assert page.locator(".clusters tbody tr", has_text="ui-edge").count() == 0
    # What a collector posts: a source event with its resourceVersion, the cursor, the lag.
    source = core_event("edge-0.1", reason="BackOff", type="Warning", message="Back-off restarting")
    source["metadata"].update({"uid": "uid-edge-0", "resourceVersion": "7"})
    status, answer, _ = ui_hub.request("POST", "/kevents/v1/clusters/ui-edge/ingest",
                                       {"events": [source], "cursor": "7", "lagSeconds": 1.5},
                                       headers={"Authorization": f"Bearer {ADMIN}"})
    assert status == 200 and answer["applied"] == 1, answer
    posted = time.monotonic()
    row = page.locator(".clusters tbody tr", has_text="ui-edge")
    row.wait_for(timeout=2000)
    assert time.monotonic() - posted < 2.0
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["1", "1", "1.5s"] and cells[5:] == ["7", "collecting"], cells
