// Keyboard shortcuts, photo reveal, undo and the break reminder. Plain JS, no framework.
// Shortcuts follow physical keys (event.code), so they work on Arabic, Persian and Kurdish
// layouts and with Caps Lock: the key labelled Y on a US keyboard is `y` whatever it types.
// Every page works without this file; it only adds keys and conveniences.
// Message text is never touched here: nothing is written with innerHTML.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Keys go to text fields while one has focus; a ticked checkbox keeps the shortcuts working.
  function typing(target) {
    var tag = target && target.tagName;
    if (tag === "INPUT") { return target.type !== "checkbox" && target.type !== "radio"; }
    return tag === "TEXTAREA" || tag === "SELECT" || Boolean(target && target.isContentEditable);
  }

  function overlay() { return document.getElementById("shortcuts"); }

  function toggleShortcuts(show) {
    var el = overlay();
    if (!el) { return; }
    el.hidden = show === undefined ? !el.hidden : !show;
    if (!el.hidden) { document.getElementById("shortcuts-close").focus(); }
  }

  var submitted = false;
  function decide(key) {
    var form = document.getElementById("decision-form");
    var button = form && form.querySelector('button[data-key="' + key + '"]');
    if (!button || submitted) { return; }
    submitted = true;
    button.classList.add("pressed");
    form.requestSubmit(button);
  }

  var LETTERS = { KeyY: "y", KeyN: "n", KeyU: "u", KeyS: "s", KeyJ: "j", KeyK: "k", KeyP: "p", KeyZ: "z" };

  // The shortcut a keydown stands for: "y".."z" by physical key, "1".."9" for tags, "?" and "Escape".
  function shortcut(event) {
    if (event.code === "Escape" || event.key === "Escape") { return "Escape"; }
    if ((event.code === "Slash" && event.shiftKey) || event.key === "?") { return "?"; }
    if (event.code === "Backspace") { return "z"; }
    var digit = /^(?:Digit|Numpad)([1-9])$/.exec(event.code || "");
    if (digit) { return digit[1]; }
    return LETTERS[event.code] || "";
  }

  function toggleTag(key) {
    var box = document.querySelector('#decision-form input[type="checkbox"][data-key="' + key + '"]');
    if (box) { box.checked = !box.checked; }
    return Boolean(box);
  }

  function undo() {
    var form = document.getElementById("undo-form");
    if (!form || submitted) { return false; }
    submitted = true;
    form.requestSubmit();
    return true;
  }

  function follow(key) {
    var link = document.querySelector('a[data-key="' + key + '"]');
    if (link) { window.location.assign(link.href); }
  }

  function reveal(mediaId) {
    var img = document.querySelector('img[data-media="' + mediaId + '"]');
    var form = document.querySelector('form.reveal[data-media="' + mediaId + '"]');
    if (!img) { return; }
    if (!img.classList.contains("blurred")) { img.classList.add("blurred"); if (form) { form.hidden = false; } return; }
    fetch(form ? form.action : "/media/" + mediaId + "/reveal", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { return; }
      // Until now the server sent only a blurred copy; the original comes after the reveal (audited).
      img.src = "/media/" + encodeURIComponent(mediaId) + "?original=1";
      img.classList.remove("blurred");
      if (form) { form.hidden = true; }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = shortcut(event);
    if (key === "Escape") {
      toggleShortcuts(false);
      if (typing(event.target)) { event.target.blur(); }
      return;
    }
    if (typing(event.target) || !key) { return; }
    if (key === "?") { toggleShortcuts(); event.preventDefault(); return; }
    if (overlay() && !overlay().hidden) { return; }
    if (key === "y" || key === "n" || key === "u" || key === "s") { decide(key); event.preventDefault(); }
    else if (key === "j" || key === "k") { follow(key); event.preventDefault(); }
    else if (key === "z") { if (undo()) { event.preventDefault(); } }
    else if (/^[1-9]$/.test(key)) { if (toggleTag(key)) { event.preventDefault(); } }
    else if (key === "p") {
      var img = document.querySelector("img[data-media]");
      if (img) { reveal(img.getAttribute("data-media")); event.preventDefault(); }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("reveal")) {
      event.preventDefault();
      reveal(form.getAttribute("data-media"));
    } else if (form.id === "decision-form") {
      submitted = true;
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.tagName === "IMG" && target.hasAttribute("data-media")) { reveal(target.getAttribute("data-media")); }
    if (target.id === "show-shortcuts" || target.id === "shortcuts-close") { toggleShortcuts(); }
    if (target.id === "shortcuts") { toggleShortcuts(false); }
    if (target.id === "break-dismiss") {
      document.getElementById("break-reminder").hidden = true;
      localStorage.setItem("detector.workStart", String(Date.now()));
    }
  });

  // The "saved" notice is brief: it fades after a few seconds (the undo offer stays).
  var flash = document.getElementById("flash");
  if (flash) {
    window.setTimeout(function () { flash.classList.add("fading"); }, 4000);
    window.setTimeout(function () { flash.hidden = true; }, 4700);
  }

  // Optional break reminder: minutes come from the user's settings (0 = off).
  var minutes = parseInt(document.body.getAttribute("data-break-minutes") || "0", 10);
  if (minutes > 0) {
    var start = parseInt(localStorage.getItem("detector.workStart") || "0", 10);
    var now = Date.now();
    if (!start || now - start > (minutes + 120) * 60000) {  // a long gap counts as a break taken
      start = now;
      localStorage.setItem("detector.workStart", String(start));
    }
    var due = start + minutes * 60000 - now;
    window.setTimeout(function () { document.getElementById("break-reminder").hidden = false; }, Math.max(due, 0));
  }
}());

// Items ticked in a queue list for a case (reviewers): "tick all" and how many are ticked.
// The form works without this; it only adds the two conveniences.
(function () {
  "use strict";

  var form = document.getElementById("case-selection");
  var all = document.getElementById("select-all");
  if (!form || !all) { return; }
  var boxes = document.querySelectorAll('input[form="case-selection"][name="messages"]');
  var count = document.getElementById("selected-count");

  function update() {
    var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    count.textContent = ticked ? ticked + " " + (count.dataset.word || "ticked") : "";  // the word in the interface language
    form.querySelector("button").disabled = ticked === 0;
    all.checked = ticked === boxes.length;
  }

  all.hidden = false;
  all.addEventListener("change", function () {
    Array.prototype.forEach.call(boxes, function (box) { box.checked = all.checked; });
    update();
  });
  Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("change", update); });
  update();
}());
