// Optional niceties; every page works without them.
(function () {
  // Prefill the browser's time zone where the field still shows the server's default.
  var zone = document.querySelector("input[data-browser-zone]");
  if (zone && window.Intl && zone.value === zone.getAttribute("data-browser-zone")) {
    var found = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (found) { zone.value = found; }
  }
  // "More/less like this" pages: send the one-button form at once.
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) { auto.submit(); }
})();
