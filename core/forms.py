"""What the project's forms share."""


class ErrorSummaryMixin:
    """For templates/includes/error_summary.html: the errors, each linked to its field."""

    def error_links(self):
        """(element id, label, message) for every error, in the form's order, for the
        summary at the top of the page; a message that belongs to no field has no id."""
        links = [(None, None, message) for message in self.non_field_errors()]
        for bound in self:
            # A group of checkboxes has no single element: link to its first box.
            target = bound.id_for_label or f"{bound.auto_id}_0"
            links += [(target, bound.label, message) for message in bound.errors]
        return links


def whole_number(text, digits=10):
    """`text` as a non-negative int when it is one of at most `digits` ASCII digits
    (str.isdigit() also takes "²", which int() refuses), else None."""
    text = str(text)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None
