// Console behaviour that cannot be plain HTML: passkey ceremonies for the console's own sign-in.
// Loaded as a file; the console's CSP allows no inline script.
(function () {
  "use strict";

  var webauthn = window.TollgateWebAuthn;

  function csrfToken() {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    }).then(function (res) { return res.json(); }).then(function (data) {
      if (data.error) throw new Error(data.errorDescription || data.error);
      return data;
    });
  }

  function bind(button) {
    var status = document.getElementById(button.dataset.status);
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "Follow your browser's prompt…";
      var ceremony;
      if (button.dataset.ceremony === "register") {
        ceremony = post(button.dataset.optionsUrl).then(function (started) {
          return navigator.credentials.create({ publicKey: webauthn.creationOptions(started.options) }).then(function (c) {
            var name = document.getElementById(button.dataset.nameField);
            return post(button.dataset.verifyUrl, { challengeId: started.challengeId, credential: webauthn.credentialJSON(c),
                                                    name: name ? name.value : "" });
          });
        });
      } else {
        ceremony = post(button.dataset.optionsUrl).then(function (started) {
          return navigator.credentials.get({ publicKey: webauthn.requestOptions(started.options) });
        }).then(function (c) { return post(button.dataset.verifyUrl, webauthn.credentialJSON(c)); });
      }
      ceremony.then(function (result) {
        window.location.assign(result.redirect);
      }).catch(function (error) {
        status.textContent = webauthn.explainFailure(error);
        button.disabled = false;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-ceremony]").forEach(bind);
  });
})();

// Manual review: sections marked data-swap-errors show a refused change (400/403/409) in place;
// htmx leaves 4xx responses unswapped by default, which would hide the server's message.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if ((status === 400 || status === 403 || status === 409) && target && target.hasAttribute("data-swap-errors")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// Manual review: keyboard shortcuts. The element marked data-shortcut="<key>" (a link or button on
// the page) is activated by that key; j/k move through the queue's rows (Enter opens one); "?"
// opens the list of shortcuts (#shortcuts); Esc leaves a text field. A key typed into a field
// belongs to the field, and keys with Ctrl, Alt or Meta to the browser.
(function () {
  "use strict";
  var TYPES_WITHOUT_TEXT = ["checkbox", "radio", "button", "submit", "reset", "image", "file", "color", "range"];

  function typingIn(element) {
    if (!element || !element.closest) return false;
    if (element.isContentEditable) return true;
    var field = element.closest("input, textarea, select");
    if (!field) return false;
    return field.tagName !== "INPUT" || TYPES_WITHOUT_TEXT.indexOf(field.type) === -1;
  }

  function moveInQueue(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
    if (!rows.length) return false;
    var current = rows.findIndex(function (row) { return row.contains(document.activeElement); });
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(current + step, 0), rows.length - 1);
    var link = rows[next].querySelector("a[href]");
    if (link) link.focus();
    return true;
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (!help) return false;
    help.open = !help.open;
    if (help.open) help.querySelector("summary").focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typingIn(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var handled = false;
    if (event.key === "j" || event.key === "k") {
      handled = moveInQueue(event.key === "j" ? 1 : -1);
    } else if (event.key === "?") {
      handled = toggleHelp();
    } else if (/^[a-z]$/.test(event.key)) {
      var target = document.querySelector('[data-shortcut="' + event.key + '"]');
      if (target && !target.disabled) {
        target.click();
        handled = true;
      }
    }
    if (handled) event.preventDefault();
  });
})();

// Rule builder: a search box under each field picker (select[data-field-search]) that hides the
// options, and the groups, not matching every word typed; Enter picks the first one left. Without
// JavaScript the picker is the same list, grouped. htmx re-renders the builder: new pickers get
// their box on htmx:load.
(function () {
  "use strict";

  function narrow(select, text) {
    var words = text.toLowerCase().split(/\s+/).filter(Boolean);
    select.querySelectorAll("optgroup").forEach(function (group) {
      var shown = 0;
      group.querySelectorAll("option").forEach(function (option) {
        var label = option.textContent.toLowerCase();
        option.hidden = !words.every(function (word) { return label.indexOf(word) !== -1; });
        if (!option.hidden) shown += 1;
      });
      group.hidden = shown === 0;
    });
  }

  function firstShown(select) {
    return Array.prototype.find.call(select.querySelectorAll("optgroup option"), function (option) {
      return !option.hidden && !option.parentNode.hidden;
    });
  }

  function addSearch(select) {
    if (select.dataset.searchReady) return;
    select.dataset.searchReady = "true";
    var box = document.createElement("input");
    box.type = "search";
    box.className = "field-search";
    box.placeholder = "Search fields";
    box.autocomplete = "off";
    box.spellcheck = false;
    box.setAttribute("aria-label", "Search fields");
    box.setAttribute("aria-controls", select.id);
    select.after(box);
    box.addEventListener("input", function () { narrow(select, box.value); });
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault(); // Enter in the form would save the rule
      var option = firstShown(select);
      if (option && option.value !== select.value) {
        select.value = option.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  function enhance(root) {
    if (root.querySelectorAll) root.querySelectorAll("select[data-field-search]").forEach(addSearch);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
