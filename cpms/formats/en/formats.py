"""One way to write a date on every page, the admin included (settings.FORMAT_MODULE_PATH): "6 Dec 2026" and
"6 Dec 2026 05:06", as the templates' `|date:"j M Y H:i"` do. Without it a date printed unformatted takes Django's
English default ("Dec. 6, 2026, 5:06 a.m."), a fifth format on the same screens (issue 18, finding 11).
Date inputs are read as YYYY-MM-DD, the format every hint gives."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
