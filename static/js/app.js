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

// Report period form: editing "From" or "To" means custom dates; choosing a preset
// clears the dates (without this script, a date given wins over the preset on the server).
document.addEventListener("DOMContentLoaded", () => {
  const period = document.getElementById("id_period");
  const dates = document.querySelectorAll("input[data-period-date]");
  if (period && dates.length) {
    for (const input of dates) {
      input.addEventListener("input", () => { if (input.value) period.value = "custom"; });
      input.addEventListener("change", () => { if (input.value) period.value = "custom"; });
    }
    period.addEventListener("change", () => {
      if (period.value !== "custom") for (const input of dates) input.value = "";
    });
  }
  // A filter panel starts closed on a phone, so the list is on the first screen
  // (unless it shows an error); without this script it stays open.
  if (window.matchMedia("(max-width: 700px)").matches) {
    for (const panel of document.querySelectorAll("details[data-close-narrow]")) {
      if (!panel.querySelector(".errors, .error")) panel.open = false;
    }
  }
});
