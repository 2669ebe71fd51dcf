// Hosted challenge pages: passkey ceremonies through our own client API, and the popup hand-off.
// Loaded as a file (the CSP forbids inline script); does nothing on pages without its elements.
(function () {
  "use strict";

  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(descriptors) {
    return (descriptors || []).map(function (d) { return Object.assign({}, d, { id: toBuffer(d.id) }); });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBuffer(options.challenge),
      user: Object.assign({}, options.user, { id: toBuffer(options.user.id) }),
      excludeCredentials: withIds(options.excludeCredentials),
    });
  }

  function requestOptions(options) {
    var converted = Object.assign({}, options, { challenge: toBuffer(options.challenge) });
    if (options.allowCredentials) converted.allowCredentials = withIds(options.allowCredentials);
    return converted;
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: response,
    };
  }

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
      return navigator.credentials.create({ publicKey: creationOptions(started.options) }).then(function (credential) {
        return callApi("/user-authenticators/passkey", token, {
          registrationCredential: credentialJSON(credential), challengeId: started.challengeId,
        });
      });
    });
  }

  function authenticate(token) {
    return callApi("/user-authenticators/passkey/authentication-options", token).then(function (started) {
      return navigator.credentials.get({ publicKey: requestOptions(started.options) }).then(function (credential) {
        return callApi("/verify/passkey", token, {
          authenticationCredential: credentialJSON(credential), challengeId: started.challengeId,
        });
      });
    });
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: it was cancelled, timed out or could not verify you. Try again, or choose another way.";
    }
    if (error && error.name === "InvalidStateError") return "This device already has a passkey for you.";
    return (error && error.message) || "Something went wrong. Try again, or choose another way.";
  }

  function setUpPasskey(section) {
    var button = document.getElementById("passkey-button");
    var status = document.getElementById("passkey-status");
    var form = document.getElementById("complete-form");
    if (!window.PublicKeyCredential) {
      section.dataset.state = "unsupported";
      status.textContent = "This browser cannot use passkeys. Choose another way.";
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      var ceremony = section.dataset.ceremony === "register" ? register : authenticate;
      section.dataset.state = "busy";
      button.disabled = true;
      status.classList.remove("error");
      status.textContent = "Follow your browser's prompt…";
      ceremony(section.dataset.token).then(function (result) {
        section.dataset.state = "done";
        status.textContent = "Verified. Continuing…";
        form.elements.token.value = result.accessToken;
        form.submit();
      }).catch(function (error) {
        section.dataset.state = "error";
        status.classList.add("error");
        status.textContent = explain(error);
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

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.dataset.mode === "popup") announceToEmbedder();
    var section = document.getElementById("passkey");
    if (section) setUpPasskey(section);
    var result = document.getElementById("popup-result");
    if (result) handOverToOpener(result);
  });
})();
