// Progressive enhancement only: every page works without this file.
"use strict";

// A multi-select marked data-filterable gets a type-to-search box above it. An option
// matches on its text, its value and its data-code and data-aliases (the partner filter's
// options carry a partner's code and other names: "Vietnam" finds Viet Nam).
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-filterable]")) {
    const box = document.createElement("input");
    box.type = "search";
    box.className = "filter-box";
    box.placeholder = "Type to filter…";
    box.setAttribute("aria-label", "Filter the list of " + (select.labels[0]?.textContent || "options").trim());
    box.setAttribute("aria-controls", select.id);
    select.before(box);
    const words = (option) =>
      [option.textContent, option.value, option.dataset.code || "", option.dataset.aliases || ""].join("\n").toLowerCase();
    box.addEventListener("input", () => {
      const text = box.value.trim().toLowerCase();
      for (const option of select.options) {
        option.hidden = text !== "" && !words(option).includes(text);
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

// Focus on load: the element marked autofocus (the error summary of a failed save, the
// possible-duplicate warning), else the one a data-focus-on-load names by its id (the
// engagement form's title). The browser's own autofocus is not enough: it is skipped when
// the address ends in a fragment ("…/new/#main", after "Skip to content", is also where
// the form posts to), and once the page has loaded Chromium takes the focus away from
// whatever has it, for the fragment's target. So the focus is given here, and given back
// if it is lost to nowhere before the person does anything.
document.addEventListener("DOMContentLoaded", () => {
  const named = document.querySelector("[data-focus-on-load]");
  const wanted = document.querySelector("[autofocus]") || (named && document.getElementById(named.dataset.focusOnLoad));
  if (!wanted) return;
  wanted.focus();
  let personActed = false;
  const acted = () => { personActed = true; };
  for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, acted, { capture: true, once: true });
  wanted.addEventListener("blur", () => {
    if (personActed) return;
    setTimeout(() => { // once the focus has settled: lost to nowhere, not to another element or window
      const nowhere = document.activeElement === document.body || document.activeElement === null;
      if (!personActed && nowhere && document.hasFocus()) wanted.focus();
    });
  });
});

// The engagement form: ticking a facet ticks its pillar (a facet needs its pillar).
document.addEventListener("DOMContentLoaded", () => {
  for (const group of document.querySelectorAll("[data-pillar-group]")) {
    const pillar = group.querySelector("[data-pillar] input[type=checkbox]");
    for (const facet of group.querySelectorAll("[data-facets] input[type=checkbox]")) {
      facet.addEventListener("change", () => { if (facet.checked && pillar) pillar.checked = true; });
    }
  }
});

// Keyboard shortcuts, listed in the dialog that "?" opens: "/" goes to the page's search
// box (where there is one), "c" opens "Log engagement" (for those who may log: the header's
// link is there only for them). None fires while typing in a field, nor with Ctrl, Alt or
// ⌘ held, so that typing and the browser's own shortcuts are left alone.
document.addEventListener("DOMContentLoaded", () => {
  const dialog = document.getElementById("shortcuts");
  const showShortcuts = () => { if (dialog && !dialog.open) dialog.showModal(); };
  for (const button of document.querySelectorAll("[data-shortcuts-open]")) {
    button.hidden = false;
    button.addEventListener("click", showShortcuts);
  }
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    const target = event.target;
    if (target instanceof Element && (target.closest("input, textarea, select") || target.isContentEditable)) return;
    if (dialog && dialog.open) return; // Esc closes it (the browser's own)
    if (event.key === "/") {
      const search = document.getElementById("id_search");
      if (!search) return;
      event.preventDefault(); // no "/" typed into the box
      const panel = search.closest("details");
      if (panel) panel.open = true; // the filter panel, folded away on a phone
      search.focus();
    } else if (event.key === "c") {
      const log = document.querySelector("a[data-shortcut-log]");
      if (!log) return;
      event.preventDefault();
      log.click();
    } else if (event.key === "?") {
      if (!dialog) return;
      event.preventDefault();
      showShortcuts();
    }
  });
});

// The list's bulk bar: the heading's box (and the bar's own, for phones, where the heading
// is hidden) ticks or clears every row on the page, and the bar says how many are ticked
// (without this file, each row is ticked by hand).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const rows = () => [...document.querySelectorAll("input[name=item][form=bulk-form]")];
  const summary = form.closest("details")?.querySelector("summary");
  const label = summary ? summary.textContent : "";
  const count = () => {
    const ticked = rows().filter((box) => box.checked).length;
    if (summary) summary.textContent = ticked ? `${label} (${ticked} ticked)` : label;
  };
  const alls = [...document.querySelectorAll("input[data-select-all]")];
  for (const all of alls) {
    all.addEventListener("change", () => {
      for (const box of [...rows(), ...alls]) box.checked = all.checked;
      count();
    });
  }
  for (const box of rows()) box.addEventListener("change", count);
});
