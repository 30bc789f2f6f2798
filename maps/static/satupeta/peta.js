/* Satu Peta map pages: escaping, and the live parts (fleet refresh, reports fetched by view).
   Every text that comes from data is put into the page through SP.esc or textContent, never raw. */
(function () {
  "use strict";
  var SP = window.SP = window.SP || {};
  SP.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  };
  SP.ready = false;
  window.addEventListener("load", function () { SP.ready = true; });
})();
