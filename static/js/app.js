// Kozmo Secrets console: dialogs, the reveal countdown, copy buttons, the SSH section,
// masked secret fields.
// No inline scripts anywhere (a strict Content-Security-Policy can forbid them).
(function () {
  "use strict";

  function dialog() { return document.getElementById("dialog"); }

  function closeDialog() {
    var d = dialog();
    if (d && d.open) { d.close(); }  // the "close" listener below empties it
  }

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box || !message) { return; }
    box.textContent = message;
    box.classList.add("show");
    window.setTimeout(function () { box.classList.remove("show"); }, 3500);
  }

  function syncSshSection(root) {
    var select = root.querySelector("select[name=category]");
    var section = root.querySelector("[data-ssh-section]");
    if (select && section) { section.hidden = select.value !== "SSH"; }
  }

  function startCountdowns(root) {
    (root || document).querySelectorAll("[data-countdown]:not([data-started])").forEach(function (el) {
      var left = parseInt(el.getAttribute("data-countdown"), 10);
      el.setAttribute("data-started", "1");
      var timer = window.setInterval(function () {
        left -= 1;
        if (!el.isConnected || left <= 0) { window.clearInterval(timer); left = Math.max(left, 0); }
        el.textContent = left + "s";
      }, 1000);
    });
  }

  // Masked secret fields (R21): a password input, or a textarea hidden behind "•••". The
  // toggle shows and hides it; its name says what it will do, aria-pressed what it did.
  function secretInput(box) { return box.querySelector("input.secret-input, textarea.secret-input"); }

  function showSecret(box, shown) {
    var field = secretInput(box);
    var toggle = box.querySelector("[data-secret-toggle]");
    var mask = box.querySelector("[data-secret-mask]");
    if (!field || !toggle) { return; }
    if (field.tagName === "TEXTAREA") {
      field.hidden = !shown;
      if (mask) { mask.hidden = shown; }
    } else {
      field.type = shown ? "text" : "password";
      if (mask) { mask.hidden = true; }
    }
    toggle.setAttribute("aria-pressed", shown ? "true" : "false");
    toggle.textContent = (shown ? "Hide " : "Show ") + box.getAttribute("data-noun");
  }

  function isShown(box) {
    var toggle = box.querySelector("[data-secret-toggle]");
    return !!toggle && toggle.getAttribute("aria-pressed") === "true";
  }

  // The multi-line switch: the same field as a textarea (line breaks kept) or an input.
  function setMultiline(box, multiline) {
    var old = secretInput(box);
    if (!old || (old.tagName === "TEXTAREA") === multiline) { return; }
    var field = document.createElement(multiline ? "textarea" : "input");
    ["id", "name", "class", "autocomplete", "spellcheck", "autocapitalize",
     "aria-describedby", "aria-invalid"].forEach(function (name) {
      if (old.hasAttribute(name)) { field.setAttribute(name, old.getAttribute(name)); }
    });
    if (multiline) { field.rows = 4; }
    field.value = old.value;
    old.replaceWith(field);
    showSecret(box, isShown(box));
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog") {
      // Bind the new form before the dialog opens: its autofocused field takes Enter at
      // once, and a form htmx has not processed yet would post natively (no CSRF header).
      if (window.htmx) { window.htmx.process(target); }
      if (!target.open) { target.showModal(); }
      syncSshSection(target);
    }
    startCountdowns(document);
  });

  document.addEventListener("htmx:responseError", function (event) {
    // The server says why (X-Error-Message): a CSRF refusal is not a missing privilege.
    var xhr = event.detail.xhr;
    var reason = xhr.getResponseHeader("X-Error-Message");
    toast(reason || (xhr.status === 403 ? "Not allowed." : "Something went wrong (" + xhr.status + ")."));
  });

  document.body.addEventListener("close-dialog", closeDialog);
  document.body.addEventListener("secrets-changed", function (event) {
    toast(event.detail && event.detail.message);
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) { event.preventDefault(); closeDialog(); return; }
    var toggle = event.target.closest("[data-secret-toggle]");
    if (toggle) {
      var box = toggle.closest("[data-secret-field]");
      showSecret(box, !isShown(box));
      return;
    }
    var copier = event.target.closest("[data-copy]");
    if (copier) {
      var source = document.querySelector(copier.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () { toast("Copied."); });
      }
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("#dialog select[name=category]")) { syncSshSection(dialog()); }
    if (event.target.matches("#dialog input[name=multiline]")) {
      setMultiline(event.target.closest("[data-secret-field]"), event.target.checked);
    }
  });

  // Typed values (secrets among them) do not linger in the page once the dialog is closed.
  document.addEventListener("close", function (event) {
    if (event.target.id === "dialog") { event.target.innerHTML = ""; }
  }, true);
})();

// Leaving a page: take revealed values and a just-created token key out of it, so that the
// browser's back-forward cache cannot show them again. After a history restore, make the
// filter inputs match the URL again.
(function () {
  "use strict";
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("[data-testid=revealed-value], #new-token-key").forEach(function (el) {
      el.textContent = "";
    });
  });
  document.addEventListener("htmx:historyRestore", function () {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("#filters [name], #audit-filters [name]").forEach(function (field) {
      field.value = params.get(field.name) || "";
    });
  });
})();
