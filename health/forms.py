"""Form pieces every admin shares."""
from django import forms


class IdNumberInput(forms.TextInput):
    """A form that comes back with errors does not repeat the typed ID number into the page."""

    def __init__(self, attrs=None) -> None:
        super().__init__({"autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        return None
