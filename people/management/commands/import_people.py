from accounts.importing import ImportCommand
from core.tables import read_table
from people.importer import COLUMNS, import_rows


class Command(ImportCommand):
    help = (
        "Import people from a CSV or XLSX file whose header row uses the API's field names "
        "(partner by code; affiliations as 'PARTNER|title|start|end' separated by ';'), as "
        "the people list downloads them. Every row is checked by the API's rules; a file "
        "with any bad row stores nothing."
    )
    noun = "people"

    def read(self, name, content):
        return read_table(name, content, COLUMNS)

    def store(self, rows, user, dry_run):
        return import_rows(rows, user, dry_run=dry_run)
