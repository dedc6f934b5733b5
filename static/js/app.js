/* Behaviour shared by every staff page, kept out of the HTML so the Content Security
 * Policy can forbid inline scripts and event-handler attributes:
 *  - data-confirm="question" on a submit button or form asks before submitting;
 *  - data-autosubmit on a select submits its form when it changes;
 *  - data-warn-unsaved on a form warns before leaving the page with unsaved changes;
 *  - the idle lock: a warning a minute before the session ends, "Stay signed in",
 *    and a keepalive call when the person is active but not loading pages.
 */
(function () {
  "use strict";

  // --- Confirmations and auto-submit -------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm], input[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });

  // --- Sizes and colours that come from data (style attributes are not allowed) ----
  function applyDataStyles(root) {
    root.querySelectorAll("[data-width-percent]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.widthPercent) || 0)) + "%";
    });
    root.querySelectorAll("[data-bg-colour]").forEach(function (el) {
      el.style.background = el.dataset.bgColour;
    });
  }
  applyDataStyles(document);
  document.addEventListener("htmx:afterSwap", function (event) { applyDataStyles(event.target); });

  // --- Unsaved changes --------------------------------------------------------------
  var dirtyForms = new Set();
  var leavingOnPurpose = false;
  function watchedForm(el) {
    return el && el.closest ? el.closest("form[data-warn-unsaved]") : null;
  }
  function markDirty(event) {
    var form = watchedForm(event.target);
    if (form) { dirtyForms.add(form); }
  }
  document.addEventListener("input", markDirty, true);
  document.addEventListener("change", markDirty, true);
  // A form whose own changes mark it dirty without an input event (the chart diagram).
  document.addEventListener("mc:changed", markDirty, true);
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) { dirtyForms.delete(event.target); }
  });
  function hasUnsavedChanges() {
    return Array.from(dirtyForms).some(function (form) { return document.contains(form); });
  }
  window.addEventListener("beforeunload", function (event) {
    if (!leavingOnPurpose && hasUnsavedChanges()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // --- Idle lock --------------------------------------------------------------------
  var body = document.body;
  var timeout = parseInt(body.dataset.idleTimeout || "0", 10);
  if (!timeout) { return; }
  var warnBefore = parseInt(body.dataset.idleWarn || "60", 10);
  var keepaliveUrl = body.dataset.keepaliveUrl;
  var panel = document.getElementById("idle-warning");
  var countdown = panel && panel.querySelector("[data-idle-countdown]");
  var unsavedNote = panel && panel.querySelector("[data-idle-unsaved]");
  // The server's idea of the last activity, as a deadline on this browser's clock.
  var deadline = Date.now() + 1000 * parseInt(body.dataset.idleLeft || String(timeout), 10);
  var lastPing = Date.now();
  var activeSincePing = false;

  function csrfToken() {
    try { return JSON.parse(body.getAttribute("data-hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function ping() {
    lastPing = Date.now();
    activeSincePing = false;
    var sent = Date.now();
    return fetch(keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    }).then(function (response) {
      if (response.ok) {
        return response.json().then(function (data) {
          deadline = sent + 1000 * data.seconds_left;
          hideWarning();
        });
      }
      // Signed out already (idle elsewhere, or the server said so): go to sign-in.
      expire();
    }).catch(function () { /* offline: the deadline stands */ });
  }
  function onActivity() {
    activeSincePing = true;
    if (!panel.hidden) { return; }  // while warned, only the button keeps the session
    if (Date.now() - lastPing > 30000) { ping(); }
  }
  ["pointerdown", "keydown", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, onActivity, { passive: true, capture: true });
  });
  // Any htmx request reaches the server, which counts it as activity.
  document.addEventListener("htmx:afterRequest", function () {
    deadline = Math.max(deadline, Date.now() + 1000 * (timeout - 30));
  });
  panel.querySelector("[data-idle-stay]").addEventListener("click", function () { ping(); });

  function hideWarning() { panel.hidden = true; }
  function expire() {
    leavingOnPurpose = true;
    // The server ends the session and its login page leads back here.
    window.location.assign(window.location.href);
  }
  function tick() {
    var left = Math.round((deadline - Date.now()) / 1000);
    // Two seconds' margin, so the server (which counts from its own last request) agrees.
    if (left <= -2) { expire(); return; }
    left = Math.max(left, 0);
    if (left <= warnBefore) {
      if (activeSincePing && Date.now() - lastPing > 30000 && panel.hidden) { ping(); }
      countdown.textContent = String(left);
      unsavedNote.hidden = !hasUnsavedChanges();
      if (panel.hidden) { panel.hidden = false; }
    } else if (!panel.hidden) {
      hideWarning();
    }
  }
  window.setInterval(tick, 1000);
}());
