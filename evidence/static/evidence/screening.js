/* Keyboard shortcuts for the screening page (WCAG 2.1.4). The page works without this file: every key presses a
   button or follows a link that is on the page.

   Off until the reviewer turns them on (one click on "Keyboard shortcuts", remembered in this browser); when on,
   a key acts only while the citation card has focus (so a key pressed on a button, a link or a screen reader's
   own command is never taken for a decision), and never with Ctrl, Alt, Meta or Shift held. */
(function () {
  "use strict";
  var STORAGE_KEY = "evidence.screening.shortcuts";
  var KEYS = {  // key: the id of the button or link it presses
    i: "btn-include", x: "btn-exclude", e: "btn-exclude", m: "btn-maybe",
    n: "link-next", j: "link-next", p: "link-prev", k: "link-prev", u: "btn-undo"
  };

  function stored() {
    try { return window.localStorage.getItem(STORAGE_KEY) === "on"; } catch (error) { return false; }
  }
  function store(on) {
    try { window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off"); } catch (error) { /* private mode */ }
  }
  function chooseReason(index) {
    var select = document.getElementById("id_exclusion_reason");
    if (select && index < select.options.length) { select.selectedIndex = index; }
  }
  function exclude(root) {
    var select = document.getElementById("id_exclusion_reason");
    if (root.dataset.stage === "full_text" && select && !select.value) {
      select.focus();
      window.alert("Choose a PRISMA exclusion reason first (keys 1–9).");
      return;
    }
    document.getElementById("btn-exclude").click();
  }
  function announce(root, on) {
    var shortcuts = {};
    Object.keys(KEYS).forEach(function (key) {
      shortcuts[KEYS[key]] = (shortcuts[KEYS[key]] ? shortcuts[KEYS[key]] + " " : "") + key.toUpperCase();
    });
    Object.keys(shortcuts).forEach(function (id) {
      var element = document.getElementById(id);
      if (!element) { return; }
      if (on) { element.setAttribute("aria-keyshortcuts", shortcuts[id]); } else { element.removeAttribute("aria-keyshortcuts"); }
    });
    var select = document.getElementById("id_exclusion_reason");
    if (select) { if (on) { select.setAttribute("aria-keyshortcuts", "1 2 3 4 5 6 7 8 9"); } else { select.removeAttribute("aria-keyshortcuts"); } }
  }
  function apply(root, toggle, on) {
    root.classList.toggle("keys-on", on);
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.querySelector(".state").textContent = on ? "on" : "off";
    announce(root, on);
  }
  function onKey(root, event) {
    if (!root.classList.contains("keys-on") || event.target !== event.currentTarget) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) { return; }
    if (/^[1-9]$/.test(event.key)) { chooseReason(Number(event.key)); event.preventDefault(); return; }
    var id = KEYS[event.key];
    if (!id) { return; }
    event.preventDefault();
    if (id === "btn-exclude") { exclude(root); return; }
    var element = document.getElementById(id);
    if (element) { element.click(); }
  }

  var root = document.getElementById("screening");
  var toggle = document.getElementById("shortcuts-toggle");
  if (!root || !toggle) { return; }
  toggle.hidden = false;
  apply(root, toggle, stored());
  toggle.addEventListener("click", function () {
    var on = !root.classList.contains("keys-on");
    store(on);
    apply(root, toggle, on);
  });
  var card = document.getElementById("citation");
  if (card) {
    card.addEventListener("keydown", function (event) { onKey(root, event); });
    if (root.classList.contains("keys-on")) { card.focus(); }  // the next citation is ready for the next key
  }
})();
