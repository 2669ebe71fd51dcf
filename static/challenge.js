// Hosted challenge pages: passkey ceremonies through our own client API, and the popup hand-off.
// Loaded as a file (the CSP forbids inline script); does nothing on pages without its elements.
(function () {
  "use strict";

  var webauthn = window.TollgateWebAuthn;

  function callApi(path, token, body) {
    return fetch("/v1/client" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body || {}),
    }).then(function (res) { return res.json(); }).then(function (data) {
      if (data.error) throw new Error(data.errorDescription || data.error);
      return data;
    });
  }

  function register(token) {
    return callApi("/user-authenticators/passkey/registration-options", token).then(function (started) {
      return navigator.credentials.create({ publicKey: webauthn.creationOptions(started.options) }).then(function (credential) {
        return callApi("/user-authenticators/passkey", token, {
          registrationCredential: webauthn.credentialJSON(credential), challengeId: started.challengeId,
        });
      });
    });
  }

  function authenticate(token) {
    return callApi("/user-authenticators/passkey/authentication-options", token).then(function (started) {
      return navigator.credentials.get({ publicKey: webauthn.requestOptions(started.options) }).then(function (credential) {
        return callApi("/verify/passkey", token, {
          authenticationCredential: webauthn.credentialJSON(credential), challengeId: started.challengeId,
        });
      });
    });
  }

  // Whole sentences from the page (data-text-*, in its language), never pieces joined here.
  function explain(section, error) {
    var texts = section.dataset;
    if (error && error.name === "NotAllowedError") return texts.textNotAllowed;
    if (error && error.name === "InvalidStateError") return texts.textExists;
    if (error && error.message) return texts.textFailed.replace("%(reason)s", error.message);
    return texts.textUnknown;
  }

  function setUpPasskey(section) {
    var button = document.getElementById("passkey-button");
    var status = document.getElementById("passkey-status");
    var form = document.getElementById("complete-form");
    if (!window.PublicKeyCredential) {
      section.dataset.state = "unsupported";
      status.textContent = section.dataset.textUnsupported;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      var ceremony = section.dataset.ceremony === "register" ? register : authenticate;
      section.dataset.state = "busy";
      button.disabled = true;
      status.classList.remove("error");
      status.textContent = section.dataset.textBusy;
      ceremony(section.dataset.token).then(function (result) {
        section.dataset.state = "done";
        status.textContent = section.dataset.textDone;
        form.elements.token.value = result.accessToken;
        form.submit();
      }).catch(function (error) {
        section.dataset.state = "error";
        status.classList.add("error");
        status.textContent = explain(section, error);
        button.disabled = false;
      });
    });
  }

  function embedder() {
    return window.opener || (window.parent !== window ? window.parent : null);
  }

  function announceToEmbedder() {
    // Neither message carries anything secret, so any embedding origin may read them: the browser
    // SDK waits for READY before showing its dialog and sizes its iframe from the height.
    var target = embedder();
    if (!target) return;
    target.postMessage(JSON.stringify({ event: "AUTHSIGNAL_READY" }), "*");
    target.postMessage({ height: document.documentElement.scrollHeight }, "*");
  }

  function handOverToOpener(result) {
    var target = embedder();
    if (!target) return;
    var message = result.dataset.message;
    JSON.parse(result.dataset.origins).forEach(function (origin) {
      // The token is secret: the browser drops the message unless the opener is at this origin.
      target.postMessage(message, origin);
    });
    if (window.opener) window.close();
  }

  // Copy and print buttons ship hidden: without script (or a clipboard) they could not work.
  function setUpCopy(button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = document.getElementById(button.dataset.status);
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        status.classList.remove("error");
        status.textContent = button.dataset.textCopied;
      }, function () {
        // The browser may still refuse (a denied permission, a frame not allowed to write, a page
        // not in front). Selecting the text leaves the person one keystroke or tap from copying it.
        window.getSelection().selectAllChildren(document.getElementById(button.dataset.select));
        status.classList.add("error");
        status.textContent = button.dataset.textCopyFailed;
      });
    });
  }

  function setUpPrint(button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(setUpCopy);
    document.querySelectorAll("[data-print]").forEach(setUpPrint);
    if (document.body.dataset.mode === "popup") announceToEmbedder();
    var section = document.getElementById("passkey");
    if (section) setUpPasskey(section);
    var result = document.getElementById("popup-result");
    if (result) handOverToOpener(result);
  });
})();
