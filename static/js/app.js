// Kozmo Secrets console: dialogs, the reveal countdown, copy buttons, the SSH section,
// masked secret fields, and (R21) where the keyboard focus goes, the live region and the
// console's own confirmation dialog.
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

  // Time is up: the value leaves the page here and now, even if the request for the masked
  // cell (its hx-trigger, at the same moment) fails or never comes back.
  function forgetValue(cell) {
    if (!cell) { return; }
    cell.querySelectorAll("[data-testid=revealed-value]").forEach(function (value) {
      value.textContent = "********";
      value.classList.add("masked");
    });
    cell.querySelectorAll("[data-copy]").forEach(function (copy) { copy.disabled = true; });
  }

  // A deadline on the clock, not a count of timer ticks: a sleeping laptop or a busy page
  // delays the ticks, and on waking the value must already be gone (checked on every tick
  // and whenever the page is shown or focused again).
  function tickCountdown(el) {
    var left = Math.max(0, Math.ceil((Number(el.getAttribute("data-deadline")) - Date.now()) / 1000));
    el.textContent = left + "s";
    // The cell by its lasting class: until htmx settles, a swapped-in cell wears the old
    // cell's classes ("revealed" missing).
    if (left <= 0 && el.isConnected) { forgetValue(el.closest(".masked-cell")); }
    return left;
  }

  function tickAllCountdowns() {
    document.querySelectorAll("[data-countdown][data-deadline]").forEach(tickCountdown);
  }

  function startCountdowns(root) {
    (root || document).querySelectorAll("[data-countdown]:not([data-started])").forEach(function (el) {
      var seconds = parseInt(el.getAttribute("data-countdown"), 10);
      el.setAttribute("data-started", "1");
      el.setAttribute("data-deadline", String(Date.now() + seconds * 1000));
      var timer = window.setInterval(function () {
        if (!el.isConnected || tickCountdown(el) <= 0) { window.clearInterval(timer); }
      }, 1000);
    });
  }

  document.addEventListener("visibilitychange", tickAllCountdowns);
  window.addEventListener("focus", tickAllCountdowns);
  window.addEventListener("pageshow", tickAllCountdowns);

  // Masked secret fields (R21): a password input, or a textarea hidden behind "•••". The
  // toggle shows and hides it: a toggle button (WAI-ARIA APG), its name constant ("Show
  // value") and aria-pressed its state; a changing name would read "Hide value, pressed".
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
     "aria-describedby", "aria-invalid", "data-1p-ignore", "data-lpignore", "data-bwignore",
     "data-form-type"].forEach(function (name) {
      if (old.hasAttribute(name)) { field.setAttribute(name, old.getAttribute(name)); }
    });
    if (multiline) { field.rows = 4; }
    field.value = old.value;
    old.replaceWith(field);
    showSecret(box, isShown(box));
  }

  // --- R21: focus -----------------------------------------------------------------------

  var FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]";

  function visible(el) { return !!el && el.isConnected && el.getClientRects().length > 0; }

  function focusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      return !el.disabled && el.tabIndex >= 0 && visible(el);
    });
  }

  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }

  // A dialog opens on a field with an error, else its [autofocus], else its first field.
  function focusFirst(box) {
    var fields = "input:not([type=hidden]), select, textarea";
    var first = [box.querySelector("[aria-invalid=true]"), box.querySelector("[autofocus]")]
      .concat(Array.prototype.slice.call(box.querySelectorAll(fields)))
      .filter(function (el) { return el && !el.disabled && visible(el); })[0];
    if (first) { first.focus(); }
  }

  // What a control does (its URL), so that its twin can be found once htmx re-renders it.
  function actionOf(el) {
    var form = el.form || null;
    return el.getAttribute("hx-get") || el.getAttribute("hx-post") ||
      (form && (form.getAttribute("hx-post") || form.getAttribute("action"))) || "";
  }

  // Enough about a focused control to find "the same one" after a swap replaced it.
  function describe(el) {
    if (!el || el === document.body || !el.isConnected) { return null; }
    var row = el.closest("[data-testid$='-row']");
    var rowTestid = row && row.getAttribute("data-testid");
    return {
      el: el, testid: el.getAttribute("data-testid"), action: actionOf(el), rowTestid: rowTestid,
      tag: el.tagName.toLowerCase(), text: el.textContent.trim(),
      rowName: row && row.getAttribute("data-name"),
      rowProfile: row && row.getAttribute("data-profile"),
      rowIndex: row ? all("[data-testid='" + rowTestid + "']").indexOf(row) : -1
    };
  }

  // The control to focus instead of a replaced one: itself if still there; its twin (same
  // data-testid, same URL; outside rows, the same testid or tag and text; in rows, the same
  // testid in the row of the same name and profile); if its row is gone or has no control
  // left, the next row's first control, else an earlier row's; else the search box, else
  // <main>. Never <body>.
  function equivalent(memo) {
    if (!memo) { return null; }
    if (visible(memo.el)) { return memo.el; }
    if (memo.testid && memo.action) {
      var twin = all("[data-testid='" + memo.testid + "']").filter(function (el) {
        return actionOf(el) === memo.action && visible(el);
      })[0];
      if (twin) { return twin; }
    }
    if (!memo.rowTestid) {  // outside rows (a pager link): the same kind of control
      var alike = all(memo.testid ? "[data-testid='" + memo.testid + "']" : memo.tag)
        .filter(function (el) {
          return visible(el) && (memo.testid || (memo.text && el.textContent.trim() === memo.text));
        })[0];
      if (alike) { return alike; }
    }
    if (memo.rowTestid) {
      var rows = all("[data-testid='" + memo.rowTestid + "']");
      if (memo.rowName !== null) {
        var same = rows.filter(function (row) {
          return row.getAttribute("data-name") === memo.rowName &&
            row.getAttribute("data-profile") === memo.rowProfile;
        })[0];
        if (same) {
          var inRow = same.querySelector("[data-testid='" + memo.testid + "']");
          if (visible(inRow)) { return inRow; }
        }
      }
      var i, found;
      for (i = Math.max(memo.rowIndex, 0); i < rows.length; i += 1) {
        found = focusables(rows[i])[0];
        if (found) { return found; }
      }
      for (i = Math.min(memo.rowIndex, rows.length) - 1; i >= 0; i -= 1) {
        found = focusables(rows[i])[0];
        if (found) { return found; }
      }
    }
    return document.getElementById("filter-search") || document.getElementById("content");
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  // --- R21: the live region ------------------------------------------------------------

  function announce(message) {
    var box = document.getElementById("announcer");
    if (!box || !message) { return; }
    // The same words again (a second reveal of the same secret) must still be a change.
    box.textContent = box.textContent === message ? message + "\u00a0" : message;
  }

  // --- R21: dialogs, swaps -------------------------------------------------------------

  var opener = null;    // describe() of what opened #dialog
  var returnTo = null;  // instead of the opener: Copy, after a reveal through the password dialog
  var kept = null;      // describe() of the focused control a swap is about to replace
  var cellSwap = null;  // a value cell about to be revealed or masked again

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    if (!target || !event.detail.shouldSwap || target.id === "dialog") { return; }
    if (target.classList.contains("masked-cell")) {
      var box = dialog();
      cellSwap = {
        id: target.id, wasRevealed: target.classList.contains("revealed"),
        label: target.getAttribute("data-secret-label"),
        hadFocus: focusLost() || target.contains(active), fromBody: focusLost(),
        viaDialog: !!(box && box.open && opener && target.contains(opener.el))
      };
    } else if (active && active !== document.body && target.contains(active)) {
      kept = describe(active);
    }
  });

  // After a reveal: focus on Copy and "NAME (profile) revealed; ..." in the live region.
  // After the mask returns: "NAME (profile) hidden again." and focus on Decrypt, if the
  // focus was in that cell (or nowhere): never taken from elsewhere.
  function valueCellSwapped() {
    var info = cellSwap;
    var cell = info && document.getElementById(info.id);
    if (!cell || !cell.isConnected) { return; }
    cellSwap = null;
    // Read the new cell's children, not its own attributes: until htmx settles, an element
    // that keeps its id keeps the old element's attributes.
    var copy = cell.querySelector("[data-testid=copy]");
    var control = copy || cell.querySelector("[data-testid=reveal-error]");
    if (copy) {
      announce(copy.getAttribute("data-announce"));
    } else if (!control) {
      if (info.wasRevealed && info.label) { announce(info.label + " hidden again."); }
      control = cell.querySelector("[data-testid=decrypt]");
    }
    if (info.viaDialog) {
      returnTo = control;  // the password dialog closes next and gives the focus here
    } else if (control && info.hadFocus) {
      control.focus({preventScroll: info.fromBody});  // from nowhere: no jump either
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog") {
      // Bind the new form before the dialog opens: its autofocused field takes Enter at
      // once, and a form htmx has not processed yet would post natively (no CSRF header).
      if (window.htmx) { window.htmx.process(target); }
      if (!target.open) {
        opener = describe(document.activeElement);
        returnTo = null;
        target.showModal();
      }
      syncSshSection(target);
      focusFirst(target);
      // Focused now: htmx would focus [autofocus] again when it settles (20 ms later) and
      // take the focus back from a quick Tab.
      target.querySelectorAll("[autofocus]").forEach(function (el) { el.removeAttribute("autofocus"); });
    }
    if (cellSwap) { valueCellSwapped(); }
    startCountdowns(document);
  });

  document.addEventListener("htmx:afterSettle", function () {
    var memo = kept;
    kept = null;
    if (memo && focusLost()) {
      var next = equivalent(memo);
      if (next) { next.focus(); }
    }
  });

  // --- R21: the console's confirmation, instead of window.confirm (hx-confirm) ---------

  var pendingConfirm = null;

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    var box = document.getElementById("confirm-dialog");
    if (!question || !box || typeof box.showModal !== "function") { return; }
    event.preventDefault();
    var source = event.detail.elt;
    var submitter = event.detail.triggeringEvent && event.detail.triggeringEvent.submitter;
    var button = submitter || source;
    var trigger = focusLost() ? button : document.activeElement;
    var labelled = source.closest("[data-confirm-label]");
    var ok = box.querySelector("[data-testid=confirm-ok]");
    box.querySelector("#confirm-question").textContent = question;  // text, never markup
    ok.textContent = (labelled && labelled.getAttribute("data-confirm-label")) || "Confirm";
    ok.className = button.classList.contains("danger") ? "danger" : "primary";
    box.returnValue = "";
    pendingConfirm = {go: event.detail.issueRequest, trigger: describe(trigger)};
    box.showModal();
    // The least destructive choice first (WAI-ARIA APG, alertdialog): Tab, then Enter, confirms.
    box.querySelector("[data-testid=confirm-cancel]").focus();
  });

  function confirmClosed(box) {
    var pending = pendingConfirm;
    pendingConfirm = null;
    if (!pending) { return; }
    var back = equivalent(pending.trigger);
    if (back) { back.focus(); }
    if (box.returnValue === "confirm") { pending.go(true); }
  }

  // --- R21: Tab stays inside the open dialog (the topmost one) -------------------------

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var box = document.querySelector("#confirm-dialog[open]") || document.querySelector("#dialog[open]");
    if (!box) { return; }
    var items = focusables(box);
    if (!items.length) { return; }
    var first = items[0];
    var last = items[items.length - 1];
    var active = document.activeElement;
    if (!box.contains(active)) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
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
    var skip = event.target.closest(".skip-link");
    if (skip) {
      // Focus <main> itself (tabindex=-1): the next Tab starts there. No #content in the URL.
      var main = document.getElementById("content");
      if (main) { event.preventDefault(); main.focus(); }
      return;
    }
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
  // Then the focus goes back to what opened it, or its twin if a swap replaced it (R21).
  // The close event comes a task later: a dialog opened again in between (Escape, then Enter
  // at once) is not this close's business.
  document.addEventListener("close", function (event) {
    if (event.target.open) { return; }
    if (event.target.id === "confirm-dialog") { confirmClosed(event.target); }
    if (event.target.id !== "dialog") { return; }
    event.target.innerHTML = "";
    var back = visible(returnTo) ? returnTo : equivalent(opener);
    opener = null;
    returnTo = null;
    if (back) { back.focus(); }
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
