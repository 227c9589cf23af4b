// Progressive enhancement only: every page works without this file.
// A multi-select marked data-filterable gets a type-to-search box above it.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-filterable]")) {
    const box = document.createElement("input");
    box.type = "search";
    box.className = "filter-box";
    box.placeholder = "Type to filter…";
    box.setAttribute("aria-label", "Filter the list of " + (select.labels[0]?.textContent || "options").trim());
    box.setAttribute("aria-controls", select.id);
    select.before(box);
    box.addEventListener("input", () => {
      const text = box.value.trim().toLowerCase();
      for (const option of select.options) {
        option.hidden = text !== "" && !option.textContent.toLowerCase().includes(text) && !option.value.toLowerCase().includes(text);
      }
    });
  }
});
