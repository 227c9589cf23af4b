"""axe-core over every page, for each role, on a desktop and a phone; and no page wider
than a phone.

axe-core comes from npm (vendored in tests/e2e/vendor/axe-core with its licence) and is
evaluated in the page through the DevTools protocol, which the pages' Content Security
Policy does not govern. A serious or critical violation fails the test, with the rule,
the help text and the first offending elements, page by page.
"""

import datetime
import pathlib

import pytest
from django.test import Client
from django.utils import timezone

from accounts.choices import Marking, Role
from engagements.models import Action, Review
from partners.models import Partner
from people.models import Person
from people.services import save_person
from roadmap.models import Pillar, Target, Tip, TipStatusUpdate
from tests.factories import make_engagement, make_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("live_reference_data"),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]

AXE = (pathlib.Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
BLOCKING = {"serious", "critical"}
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary),
  }));
}"""


def pages(role, engagement):
    """Every page a person with `role` uses (the admin's own pages for admins)."""
    urls = [
        "/",
        "/engagements/",
        "/engagements/?status=completed&partner=JPN&pillar=security",
        "/engagements/new/",
        f"/engagements/{engagement.pk}/",
        f"/engagements/{engagement.pk}/edit/",
        f"/engagements/{engagement.pk}/delete/",
        "/partners/",
        "/partners/JPN/",
        "/roadmap/",
        "/roadmap/tips/6/",
        "/reports/coverage/",
        "/reports/coverage/?rollup=members",
        "/reports/trend/",
        "/reports/gaps/",
        "/reports/tips/",
        "/reports/plan/",
        "/reports/risks/",
        "/actions/",
        "/engagements/import/",
        "/partners/JPN/brief/",
        "/calendar/",
        "/saved-views/",
        "/accounts/mfa/",
        "/people/",
        "/people/new/",
        "/search/?q=maritime",
    ]
    urls += [f"/people/{pk}/" for pk in Person.objects.values_list("pk", flat=True)[:1]]
    urls += [f"/people/{pk}/edit/" for pk in Person.objects.values_list("pk", flat=True)[:1]]
    if role == Role.ADMIN:
        urls += [
            "/admin/",
            "/admin/engagements/engagement/",
            f"/admin/engagements/engagement/{engagement.pk}/change/",
            "/admin/partners/partner/",
            "/admin/accounts/user/",
        ]
    return urls


def sign_in(context, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def violations_on(page, url):
    page.goto(url)
    page.evaluate(AXE)
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


@pytest.fixture
def some_data():
    author = make_user(Role.ANALYST, Marking.NS, username="author")
    today = timezone.localdate()
    made = []
    for days, status in [(-40, "completed"), (-200, "completed"), (20, "planned")]:
        engagement = make_engagement(
            title=f"Maritime dialogue {days}",
            partners=["JPN", "IDN"],
            pillars=["security", "dialogue"],
            facets=["security.maritime"],
            tips=[6],
            status=status,
            start_date=today + datetime.timedelta(days=days),
            escalation_risk="high",
            summary="Agreed on joint patrol notification.",
            created_by=author,
        )
        made.append(engagement)
    TipStatusUpdate.objects.create(tip=Tip.objects.get(number=6), status="at_risk", note="Watch")
    for pillar, minimum in [("security", 1), ("hadr", 2)]:
        Target.objects.create(
            partner=Partner.objects.get(code="JPN"),
            pillar=Pillar.objects.get(code=pillar),
            minimum=minimum,
            months=6,
            created_by=author,
        )
    for days in (-3, 10):
        Action.objects.create(
            engagement=made[0],
            title=f"Send the minutes {days}",
            owner=author,
            due=today + datetime.timedelta(days=days),
            created_by=author,
        )
    Review.objects.create(engagement=made[2], decision="concerns", note="Too close", by=author)
    japan = Partner.objects.get(code="JPN")
    person = save_person(
        author,
        {
            "name": "Haruka Mori",
            "title": "Director, Regional Policy",
            "partner": japan,
            "email": "h.mori@example.org",
            "affiliations": [
                {"partner": japan, "title": "Director", "start": datetime.date(2023, 4, 1)}
            ],
        },
    )
    made[0].people.add(person)
    return make_engagement(title="Coastguard seminar", partners=["JPN"], created_by=author)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MANAGER, Role.ADMIN])
def test_no_serious_or_critical_violation_on_any_page(live_server, browser, some_data, role):
    user = make_user(role, Marking.NS, username=f"axe-{role}")
    if role == Role.ADMIN:
        user.is_staff = True
        user.save()
    found = {}
    for width_name, (width, height) in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        sign_in(context, user, live_server)
        page = context.new_page()
        for url in pages(role, some_data):
            for violation in violations_on(page, live_server.url + url):
                found.setdefault(f"{url} at {width_name}", []).append(violation)
        context.close()
    report = "\n".join(
        f"{where}: {v['impact']} {v['id']} ({v['help']}): {'; '.join(v['nodes'])}"
        for where, violations in found.items()
        for v in violations
    )
    assert not found, report


# Whether the page is wider than the window and, if so, the elements that stick out: each
# one lies beyond the window's right edge while its parent does not (so the first to stick
# out, not its contents), and no scrolling box of its own hides it.
WIDER_THAN_THE_WINDOW = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const beyond = (element) => element.getBoundingClientRect().right > width + 0.5;
  const clipped = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible" && !beyond(box)) return true;
    }
    return false;
  };
  const name = (element) => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
    + [...element.classList].map((c) => "." + c).join("");
  const path = (element) => {
    const names = [];
    for (let e = element; e && e !== document.body; e = e.parentElement) names.unshift(name(e));
    return names.slice(-4).join(" > ");
  };
  const sticking = [...document.body.querySelectorAll("*")].filter((element) =>
    beyond(element) && !(element.parentElement && element.parentElement !== document.body
      && beyond(element.parentElement)) && !clipped(element));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          offenders: sticking.slice(0, 5).map((element) => path(element) + " (right edge at "
            + Math.round(element.getBoundingClientRect().right) + "px)")};
}"""


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MANAGER, Role.ADMIN])
def test_no_page_is_wider_than_a_phone(live_server, browser, some_data, role):
    """At 390 px nothing scrolls the page sideways: a wide table scrolls in its own box,
    lists turn into cards, the navigation folds into "Menu"."""
    user = make_user(role, Marking.NS, username=f"phone-{role}")
    if role == Role.ADMIN:
        user.is_staff = True
        user.save()
    width, height = WIDTHS["phone"]
    context = browser.new_context(viewport={"width": width, "height": height})
    sign_in(context, user, live_server)
    page = context.new_page()
    wider = {}
    for url in ["/accounts/password/", *pages(role, some_data)]:
        page.goto(live_server.url + url)
        found = page.evaluate(WIDER_THAN_THE_WINDOW)
        if found:
            wider[url] = found
    context.close()
    report = "\n".join(
        f"{url}: {found['scrollWidth']} px wide in a {found['innerWidth']} px window; "
        f"sticking out: {'; '.join(found['offenders']) or 'nothing found'}"
        for url, found in wider.items()
    )
    assert not wider, report


def test_the_sign_in_page_has_no_serious_violation(live_server, page):
    for width, height in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": height})
        assert violations_on(page, f"{live_server.url}/accounts/login/") == []
        assert page.evaluate(WIDER_THAN_THE_WINDOW) is None
