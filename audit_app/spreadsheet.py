"""CSV cells that spreadsheets show as text, never run as formulas (R17.3, OWASP "CSV
injection"): every CSV the product writes goes through `csv_writer`/`safe_cell`."""

import csv

# A cell starting with one of these is read as a formula (or split into one) by Excel,
# LibreOffice and Google Sheets.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value`, with a leading single quote when it is text a spreadsheet would evaluate.
    Numbers and booleans the product writes itself are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(file, **options) -> _SafeWriter:
    """`csv.writer(file)` whose every cell goes through `safe_cell`."""
    return _SafeWriter(csv.writer(file, **options))
