from accounts.importing import ImportCommand
from engagements.importer import import_rows, read_table


class Command(ImportCommand):
    help = (
        "Import engagements from a CSV or XLSX file whose header row uses the API's field "
        "names (partners, pillars, facets, tips separated by ';'; partners by code or "
        "name). Every row is checked by the same rules as the API and the form; a file "
        "with any bad row stores nothing. The import page (/engagements/import/) does "
        "the same (engagements.importer)."
    )

    noun = "engagements"

    def read(self, name, content):
        return read_table(name, content)

    def store(self, rows, user, dry_run):
        return import_rows(rows, user, dry_run=dry_run).errors
