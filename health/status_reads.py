"""The one audited read: every status a staff member sees comes from here, with the access on record.

A list page, a dashboard section or an API answer asks once for the statuses of the persons it is
about to show (`statuses_for_staff`); a record page, a message after a save or a registration's
answer asks for one person (`status_for_staff`). Both return the stored decision (status, reasons,
valid until, policy version — the reasons are the explanation that `health.explanations` words)
and write the access log first, in one bulk insert per call: who (the account and a snapshot of its
username and organisation), when, which persons, through which channel and on which screen.

The screen is stored as the words staff read in the log (接口：酒店入住登记列表, 入住登记 列表…),
a snapshot like the reader's name: renaming a page later does not rewrite what was seen where.
Nothing here decides who may see whom: the caller passes only persons its selectors let it show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import translation

from health.models import HealthStatus, StatusAccess
from health.redaction import identity_numbers_redact
from health.selectors import user_is_admin, user_organisation
from health.services.statuses import person_status_fresh


class Channel:
    """How the status reached the reader (stored as a code; staff read it in words: CHANNEL_WORDS)."""

    API = "api"
    ADMIN = "admin"


# The channel in words for the access log's pages (translated like every label of the admin).
def channel_words(code: str) -> str:
    from django.utils.translation import gettext

    return {Channel.API: gettext("接口查询"), Channel.ADMIN: gettext("管理后台查看")}.get(code, gettext("其他渠道"))


# An administrator acts for no organisation: the snapshot names the role (stored as data, not translated).
ADMINISTRATOR = "admin"
SCREEN_MAX = 100


@dataclass(frozen=True)
class Screen:
    """Where a status is shown: its channel and its name in words (Chinese, as staff read the log)."""

    channel: str
    words: str

    @classmethod
    def api(cls, words) -> Screen:
        return cls(Channel.API, _stored_words(words))

    @classmethod
    def admin(cls, words) -> Screen:
        return cls(Channel.ADMIN, _stored_words(words))

    @classmethod
    def admin_list(cls, model) -> Screen:
        return cls.admin(f"{_stored_words(model._meta.verbose_name_plural)} 列表")

    @classmethod
    def admin_page(cls, model) -> Screen:
        return cls.admin(f"{_stored_words(model._meta.verbose_name)} 详情页")

    @classmethod
    def admin_message(cls, model) -> Screen:
        return cls.admin_of(model, "保存后提示")

    @classmethod
    def admin_of(cls, model, what: str) -> Screen:
        """Another screen of a model's admin (its preview, an action's confirmation…)."""
        return cls.admin(f"{_stored_words(model._meta.verbose_name)} {what}")


def _stored_words(words) -> str:
    # The source language of every label is Chinese: the snapshot is kept in it, whatever the page's language.
    with translation.override("zh-hans"):
        return str(words)[:SCREEN_MAX]


def reader_snapshot(user: AbstractBaseUser) -> dict[str, str]:
    """Who the reader is right now, in words that stay as they are: username, organisation, its kind."""
    if user_is_admin(user):
        return {"username": user.get_username(), "organisation_name": "管理员", "organisation_kind": ADMINISTRATOR}
    organisation = user_organisation(user)
    if organisation is None:
        return {"username": user.get_username(), "organisation_name": "", "organisation_kind": ""}
    return {
        "username": user.get_username(),
        "organisation_name": f"{organisation.name} ({organisation.code})"[:200],
        "organisation_kind": organisation.kind,
    }


def accesses_record(*, user: AbstractBaseUser, person_ids: Iterable[int], screen: Screen, purpose: str = "") -> int:
    """One bulk insert of access rows for the persons shown at once; each person once."""
    person_ids = list(dict.fromkeys(person_ids))
    if not person_ids:
        return 0
    snapshot = reader_snapshot(user)
    # Staff may write the number they looked up into the purpose too: never stored.
    purpose = identity_numbers_redact(purpose or "")[:255]
    rows = [
        StatusAccess(
            user=user, person_id=pk, channel=screen.channel, screen=screen.words, purpose=purpose, **snapshot
        )
        for pk in person_ids
    ]
    with transaction.atomic():
        StatusAccess.objects.bulk_create(rows)
    return len(rows)


def statuses_for_staff(
    *,
    user: AbstractBaseUser,
    person_ids: Iterable[int],
    screen: Screen,
    purpose: str = "",
    fresh: bool = False,
) -> dict[int, HealthStatus]:
    """The stored decisions of the persons a staff page or answer is about to show, by person id.

    The access rows are written first (one insert), so a status that is shown is always on record.
    `fresh`: recompute first a status whose facts changed (a registration's answer, a record page);
    a list shows the stored row as it is (its `dirty` flag tells the page it is being updated).
    """
    person_ids = list(dict.fromkeys(person_ids))
    accesses_record(user=user, person_ids=person_ids, screen=screen, purpose=purpose)
    if fresh:
        return {pk: person_status_fresh(pk) for pk in person_ids}
    return {row.person_id: row for row in HealthStatus.objects.filter(person_id__in=person_ids)}


def status_for_staff(
    *, user: AbstractBaseUser, person_id: int, screen: Screen, purpose: str = "", fresh: bool = True
) -> HealthStatus:
    """One person's status for a staff page, message or answer: on record first, recomputed if stale."""
    found = statuses_for_staff(user=user, person_ids=[person_id], screen=screen, purpose=purpose, fresh=fresh)
    return found.get(person_id) or person_status_fresh(person_id)
