// The idle warning: a minute before the session's idle limit (counted from this page's
// load, the session's last use) it says so; "Stay signed in" makes a request, which counts
// as use and starts the count again. When the limit passes, the page goes to sign-in.
(function () {
  "use strict";
  const warning = document.querySelector(".idle-warning");
  if (!warning) return;
  const idleSeconds = Number(warning.dataset.idleSeconds);
  let warnTimer, endTimer;

  function start() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warning.hidden = true;
    warnTimer = setTimeout(function () { warning.hidden = false; }, Math.max(idleSeconds - 60, 0) * 1000);
    endTimer = setTimeout(function () { window.location.reload(); }, idleSeconds * 1000 + 1000);
  }

  warning.querySelector("[data-stay-signed-in]").addEventListener("click", function () {
    fetch(warning.dataset.pingUrl, {
      method: "POST",
      headers: { "X-CSRFToken": warning.dataset.csrf },
      credentials: "same-origin",
      redirect: "manual",  // signed out already: the sign-in page is not a "yes"
    }).then(function (response) {
      if (response.ok) start();
      else window.location.reload();
    });
  });
  start();
})();
