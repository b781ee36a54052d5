// Kozmo Secrets console: dialogs, the reveal countdown, copy buttons, the SSH section.
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

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog") {
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
