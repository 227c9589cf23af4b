// The person picker: the form's native list of people (which works without this file)
// turned into one searchable list with a chip per chosen person. Tom Select
// (static/vendor/tom-select) does the searching, by name, title and partner.
(function () {
  "use strict";

  function enhance(select) {
    const help = document.getElementById(select.id + "_helptext");
    const picker = new TomSelect(select, {
      plugins: ["remove_button"],
      maxOptions: 200,
      placeholder: "Type a name",
      // After a pick the next name starts from an empty box (Tom Select keeps the text).
      onItemAdd() {
        this.setTextboxValue("");
        this.refreshOptions(false);
      },
    });
    picker.wrapper.classList.add("person-picker");
    // The native list stays in the form (it is what is submitted) but out of reach: the
    // picker's own input, which the label now names, is what people and screen readers use.
    select.setAttribute("tabindex", "-1");
    select.setAttribute("aria-hidden", "true");
    if (help) picker.control_input.setAttribute("aria-describedby", help.id);
    if (help) help.textContent = "Who took part: type a name, title or partner, then Enter adds the highlighted person; Backspace removes the last.";
  }

  function start() {
    if (typeof TomSelect === "undefined") return; // the native list stays
    document.querySelectorAll("select[data-person-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
