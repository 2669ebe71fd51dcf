// WebAuthn's binary fields as JSON, both ways, for the hosted pages and the console alike.
// Written out (rather than PublicKeyCredential.parse*FromJSON) so older browsers work too.
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

  function withIds(descriptors) {
    return (descriptors || []).map(function (d) { return Object.assign({}, d, { id: toBuffer(d.id) }); });
  }

  // Server options (base64url strings) → what navigator.credentials.create/get take.
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

  // A credential from the browser → the RegistrationResponseJSON / AuthenticationResponseJSON servers verify.
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

  function explainFailure(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: it was cancelled, timed out or could not verify you.";
    }
    if (error && error.name === "InvalidStateError") return "This device already has a passkey for you.";
    return (error && error.message) || "Something went wrong.";
  }

  window.TollgateWebAuthn = {
    creationOptions: creationOptions,
    requestOptions: requestOptions,
    credentialJSON: credentialJSON,
    explainFailure: explainFailure,
  };
})();
