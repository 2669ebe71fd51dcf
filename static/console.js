// Console behaviour that cannot be plain HTML: passkey ceremonies for the console's own sign-in.
// Loaded as a file; the console's CSP allows no inline script.
(function () {
  "use strict";

  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: toBuffer(d.id) }); });
  }

  function credentialJSON(c) {
    var r = c.response, response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return { id: c.id, rawId: toBase64url(c.rawId), type: c.type, response: response,
             clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
  }

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

  function explain(error) {
    if (error && error.name === "NotAllowedError") return "The passkey was not used (cancelled, timed out or not verified).";
    return (error && error.message) || "Something went wrong.";
  }

  function bind(button) {
    var status = document.getElementById(button.dataset.status);
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "Follow your browser's prompt…";
      var ceremony;
      if (button.dataset.ceremony === "register") {
        ceremony = post(button.dataset.optionsUrl).then(function (started) {
          var o = started.options;
          return navigator.credentials.create({ publicKey: Object.assign({}, o, {
            challenge: toBuffer(o.challenge), user: Object.assign({}, o.user, { id: toBuffer(o.user.id) }),
            excludeCredentials: withIds(o.excludeCredentials) }) }).then(function (c) {
            var name = document.getElementById(button.dataset.nameField);
            return post(button.dataset.verifyUrl, { challengeId: started.challengeId, credential: credentialJSON(c),
                                                    name: name ? name.value : "" });
          });
        });
      } else {
        ceremony = post(button.dataset.optionsUrl).then(function (started) {
          var o = started.options;
          return navigator.credentials.get({ publicKey: Object.assign({}, o, {
            challenge: toBuffer(o.challenge), allowCredentials: withIds(o.allowCredentials) }) });
        }).then(function (c) { return post(button.dataset.verifyUrl, credentialJSON(c)); });
      }
      ceremony.then(function (result) {
        window.location.assign(result.redirect);
      }).catch(function (error) {
        status.textContent = explain(error);
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
