// The partner picker: one searchable list with a chip per chosen partner, each chip with
// its role (lead, participant, observer). Progressive enhancement only: without this file
// the form's three native lists (partners, lead partner, observers) do the same job, and
// this file only fills those lists in, so the server sees the same fields either way.
// Tom Select (static/vendor/tom-select) does the searching: by name, code and other names.
(function () {
  "use strict";

  const ROLES = [["lead", "Lead"], ["participant", "Participant"], ["observer", "Observer"]];

  function roleOf(code, lead, observers) {
    if (lead && lead.value === code) return "lead";
    if (observers && [...observers.selectedOptions].some((o) => o.value === code)) return "observer";
    return "participant";
  }

  function setRole(code, role, lead, observers) {
    if (lead) {
      if (role === "lead") lead.value = code;
      else if (lead.value === code) lead.value = "";
    }
    if (observers) {
      for (const option of observers.options) {
        if (option.value === code) option.selected = role === "observer";
      }
    }
  }

  function enhance(select) {
    const form = select.form;
    const lead = form.querySelector("select[name=lead_partner]");
    const observers = form.querySelector("select[name=observers]");
    const help = document.getElementById(select.id + "_helptext");
    const fallback = form.querySelector("[data-partner-roles-fallback]");
    // The chips follow the order the partners were entered in: after a failed save the
    // server lists the chosen options first, in that order (see the submit handler below).
    const entered = [...select.selectedOptions].map((option) => option.value);

    const picker = new TomSelect(select, {
      searchField: ["text", "code", "aliases"],
      hideSelected: true,
      closeAfterSelect: false,
      clearAfterSelect: true,
      refreshThrottle: 0, // Enter right after typing picks from the narrowed list
      // Not on focus: Tom Select's focus() calls its focus handler again a moment later
      // (setTimeout), and that handler opened the list, so an Esc pressed in between was
      // undone and the list covered the pillars below it. The list opens on typing, on ↓
      // and on a click (below); its focus handler now only refreshes it.
      openOnFocus: false,
      maxOptions: null,
      placeholder: "Type a partner’s name or code…",
      render: {
        option(data, escape) {
          const aliases = data.aliases ? `<small>also ${escape(data.aliases)}</small>` : "";
          return `<div>${escape(data.text)}${aliases}</div>`;
        },
        no_results(data, escape) {
          return `<div class="no-results">No partner matches “${escape(data.input)}”.</div>`;
        },
      },
    });
    picker.wrapper.classList.add("partner-picker");
    if (picker.items.join("\n") !== entered.join("\n")) picker.setValue(entered, true);
    // A click on a closed list opens it (a click on an open one closes it: Tom Select's own).
    let wasOpen = false;
    picker.hook("before", "onClick", () => { wasOpen = picker.isOpen; });
    picker.hook("after", "onClick", () => {
      if (!wasOpen && !picker.isOpen && document.activeElement === picker.control_input) picker.open();
    });
    // The native list stays in the form (it is what is submitted) but out of reach: the
    // picker's own input, which the label now names, is what people and screen readers use.
    select.setAttribute("tabindex", "-1");
    select.setAttribute("aria-hidden", "true");
    if (help && select.dataset.help) help.textContent = select.dataset.help;
    const described = [help && help.id, document.getElementById(select.id + "_error") && select.id + "_error"];
    picker.control_input.setAttribute("aria-describedby", described.filter(Boolean).join(" "));

    const heading = document.createElement("p");
    heading.className = "visually-hidden";
    heading.id = select.id + "_chosen";
    heading.textContent = "Chosen partners";
    const chips = document.createElement("ul");
    chips.className = "partner-chips";
    chips.setAttribute("aria-labelledby", heading.id);
    const status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    picker.wrapper.after(heading, chips, status);

    function render(focusAfter) {
      chips.replaceChildren();
      if (!picker.items.length) {
        const empty = document.createElement("li");
        empty.className = "empty";
        empty.textContent = "No partner chosen yet.";
        chips.append(empty);
      }
      picker.items.forEach((code, index) => {
        const name = picker.options[code] ? picker.options[code].text : code;
        const role = roleOf(code, lead, observers);
        const chip = document.createElement("li");
        chip.dataset.code = code;
        chip.classList.toggle("lead", role === "lead");
        const label = document.createElement("span");
        label.textContent = name;
        const choice = document.createElement("select");
        choice.setAttribute("aria-label", "Role of " + name);
        for (const [value, text] of ROLES) choice.add(new Option(text, value, false, value === role));
        choice.addEventListener("change", () => {
          setRole(code, choice.value, lead, observers);
          for (const other of chips.querySelectorAll("li[data-code]")) {
            const otherRole = roleOf(other.dataset.code, lead, observers);
            other.querySelector("select").value = otherRole;
            other.classList.toggle("lead", otherRole === "lead");
          }
          status.textContent = `${name}: ${choice.selectedOptions[0].text.toLowerCase()}.`;
        });
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove " + name);
        remove.addEventListener("click", () => {
          picker.removeItem(code);
          const next = chips.querySelectorAll("li[data-code] button")[index];
          (next || picker.control_input).focus();
        });
        chip.append(label, choice, remove);
        chips.append(chip);
      });
    }

    picker.on("item_add", (code) => {
      render();
      status.textContent = `Added ${picker.options[code].text}.`;
    });
    picker.on("item_remove", (code) => {
      setRole(code, "participant", lead, observers);
      render();
      status.textContent = `Removed ${picker.options[code] ? picker.options[code].text : code}.`;
    });
    // A <select multiple> submits its chosen options in the order of the list: move them to
    // its top, in the chips' order, so that the server gets the partners as entered.
    form.addEventListener("submit", () => {
      const chosen = picker.items
        .map((code) => select.querySelector(`option[value="${CSS.escape(code)}"]`))
        .filter(Boolean);
      select.prepend(...chosen);
      for (const option of chosen) option.selected = true;
    });
    // The lead and observer lists are now the chips' role choices; keep them visible only
    // when the server has something to say about them.
    if (fallback && !fallback.querySelector(".error")) fallback.hidden = true;
    render();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof TomSelect === "undefined") return;
    for (const select of document.querySelectorAll("select[data-partner-picker]")) enhance(select);
    // The error summary links to fields; a field the picker replaced is focused through it.
    for (const link of document.querySelectorAll(".error-summary a[href^='#']")) {
      link.addEventListener("click", (event) => {
        const target = document.getElementById(link.getAttribute("href").slice(1));
        if (target && target.tomselect) {
          event.preventDefault();
          target.tomselect.focus();
        }
      });
    }
  });
})();
