"""Form pieces every admin shares."""
from django import forms

from health import timebounds


class IdNumberInput(forms.TextInput):
    """A form that comes back with errors does not repeat the typed ID number into the page."""

    def __init__(self, attrs=None) -> None:
        super().__init__({"autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        return None


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
