/* Add and remove rows of the extraction form's row sets (arms, measurements, adverse events).
   Without this file the form still works: each save offers empty rows, and an emptied row is dropped.
   "Add a row" copies the set's <template> (Django's empty form) with the next index and raises TOTAL_FORMS;
   "Remove" empties the row's fields and hides it, so indices never need renumbering. */
(function () {
  "use strict";
  function clear(row) {
    row.querySelectorAll("input, select, textarea").forEach(function (field) {
      if (field.type === "checkbox" || field.type === "radio") { field.checked = false; }
      else if (field.tagName === "SELECT") { field.selectedIndex = 0; }
      else { field.value = ""; }
    });
  }
  function removeButton(row) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "formset-remove";
    button.textContent = "Remove this row";
    button.addEventListener("click", function () {
      clear(row);
      row.hidden = true;
    });
    row.appendChild(button);
  }
  function setUp(set) {
    var prefix = set.dataset.formsetPrefix;
    var total = set.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var template = set.querySelector("template.formset-empty");
    if (!total || !template) { return; }
    set.querySelectorAll(".formset-row").forEach(removeButton);
    var add = document.createElement("button");
    add.type = "button";
    add.className = "formset-add";
    add.textContent = set.dataset.addLabel || "Add a row";
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      var row = holder.firstElementChild;
      add.parentNode.insertBefore(row, add);
      removeButton(row);
      total.value = String(index + 1);
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
    });
    set.appendChild(add);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-formset-prefix]").forEach(setUp);
  });
})();
