"""The bounds every recorded time is checked against (api.md "Times"), shared by services, API and admin."""
from datetime import datetime, timedelta

from django.utils import timezone

# A few minutes of clock skew are tolerated for times that must have happened.
CLOCK_SKEW = timedelta(minutes=5)
# Nothing this product records predates the pandemic; far-off planned times are typing errors.
EARLIEST = datetime(2019, 12, 1, tzinfo=timezone.get_fixed_timezone(480))
PLANNING_HORIZON = timedelta(days=3 * 365)
