"""Form pieces every admin shares."""
from django import forms

from health import timebounds


class IdNumberInput(forms.TextInput):
    """The ID number field: a form that comes back with an error keeps the number that was typed.

    The page is the answer to the clerk's own POST (admin pages are never cached), so the number goes
    back only to the person who typed it, and is never written to a URL, a log or a stored row;
    the browser is asked not to remember it.
    """

    def __init__(self, attrs=None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})


class TimeBoundsForm:
    """A ModelForm mixin: the API's time bounds (health.timebounds) on the fields it names.

    `past_times`, `planned_times` and `past_dates` name the form's fields of each kind. A value is
    checked when it is entered or changed (an unchanged stored value of an old record is left alone),
    with the API's messages.
    """

    past_times: tuple[str, ...] = ()
    planned_times: tuple[str, ...] = ()
    past_dates: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        checks = (
            (self.past_times, timebounds.past_time_errors),
            (self.planned_times, timebounds.planned_time_errors),
            (self.past_dates, timebounds.past_date_errors),
        )
        for names, errors_of in checks:
            for name in names:
                value = cleaned.get(name)
                if value is None or name not in self.fields or name not in self.changed_data:
                    continue
                for message in errors_of(value):
                    self.add_error(name, message)
        return cleaned
