/* Keyboard shortcuts for the screening page. The page works without this file: every key presses a
   button or follows a link that is on the page. */
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) !== -1);
  }
  function click(id) {
    var element = document.getElementById(id);
    if (element) { element.click(); return true; }
    return false;
  }
  function chooseReason(index) {
    var select = document.getElementById("id_exclusion_reason");
    if (select && index < select.options.length) { select.selectedIndex = index; }
  }
  function exclude() {
    var root = document.getElementById("screening");
    var select = document.getElementById("id_exclusion_reason");
    if (root && root.dataset.stage === "full_text" && select && !select.value) {
      select.focus();
      window.alert("Choose a PRISMA exclusion reason first (keys 1–9).");
      return;
    }
    click("btn-exclude");
  }
  var keys = {
    i: function () { click("btn-include"); },
    x: exclude,
    e: exclude,
    m: function () { click("btn-maybe"); },
    n: function () { click("link-next"); },
    j: function () { click("link-next"); },
    p: function () { click("link-prev"); },
    k: function () { click("link-prev"); },
    u: function () { click("btn-undo"); }
  };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (/^[1-9]$/.test(event.key)) { chooseReason(Number(event.key)); event.preventDefault(); return; }
    var action = keys[event.key.toLowerCase()];
    if (action) { event.preventDefault(); action(); }
  });
})();
