"""What the project's forms share."""


class ErrorSummaryMixin:
    """For templates/includes/error_summary.html: the errors, each linked to its field,
    those of the formsets shown with the form too (`summarize_with`)."""

    summarized_formsets = ()

    def summarize_with(self, formset, label):
        """Count `formset`'s errors in the summary, each form's named "`label` N"."""
        self.summarized_formsets = [*self.summarized_formsets, (formset, label)]

    def error_links(self):
        """(element id, label, message) for every error, in the form's order, for the
        summary at the top of the page; a message that belongs to no field has no id."""
        links = _links(self, None)
        for formset, label in self.summarized_formsets:
            if not formset.is_bound:
                continue
            links += [(None, None, f"{label}s: {message}") for message in formset.non_form_errors()]
            for number, form in enumerate(formset.forms, 1):
                links += _links(form, f"{label} {number}")
        return links


def _links(form, name):
    links = [(None, None, f"{name}: {m}" if name else m) for m in form.non_field_errors()]
    for bound in form:
        # A group of checkboxes has no single element: link to its first box.
        target = bound.id_for_label or f"{bound.auto_id}_0"
        label = f"{name}, {bound.label}" if name else bound.label
        links += [(target, label, message) for message in bound.errors]
    return links


def whole_number(text, digits=10):
    """`text` as a non-negative int when it is one of at most `digits` ASCII digits
    (str.isdigit() also takes "²", which int() refuses), else None."""
    text = str(text)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None
