// The person picker: the form's native list of people (which works without this file)
// turned into one searchable list with a chip per chosen person. Tom Select
// (static/vendor/tom-select) does the searching, by name, title and partner.
(function () {
  "use strict";

  function enhance(select) {
    const help = document.getElementById(select.id + "_helptext");
    new TomSelect(select, {
      plugins: ["remove_button"],
      maxOptions: 200,
      placeholder: "Type a name",
    });
    if (help) help.textContent = "Who took part: type a name, title or partner, then Enter adds the highlighted person; Backspace removes the last.";
  }

  function start() {
    if (typeof TomSelect === "undefined") return; // the native list stays
    document.querySelectorAll("select[data-person-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
