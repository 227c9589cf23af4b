// The second factor page: once a passkey is registered (django-otp-webauthn's script says
// so with an event), show the page again: the passkey in the list, recovery codes if new.
(function () {
  "use strict";
  document.addEventListener("otp_webauthn.register_complete", function () {
    window.location.reload();
  });
})();
