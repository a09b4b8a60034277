"""The application's own errors; one DRF exception handler maps them to HTTP answers."""
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A request that cannot be carried out as asked (mapped to 400 unless a subclass says otherwise)."""

    status_code = 400
    default_message = _("请求无法处理。")

    def __init__(self, message=None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        self.field = field
        super().__init__(str(self.message))


class PersonConflict(ApplicationError):
    """A known ID number sent with another name (409)."""

    status_code = 409
    default_message = _("该身份证号码已登记为另一姓名。")

    rows: list[int] = []

    @classmethod
    def for_rows(cls, rows) -> "PersonConflict":
        """A conflict in a batch: `rows` are the indexes of the offending rows."""
        conflict = cls(field="person")
        conflict.rows = list(rows)
        return conflict


class NotVisible(ApplicationError):
    """The object does not exist or belongs to another organisation (404)."""

    status_code = 404
    default_message = _("未找到。")


class NotAllowed(ApplicationError):
    """The caller's kind of organisation may not take this action (403)."""

    status_code = 403
    default_message = _("无权执行此操作。")
