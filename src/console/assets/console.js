// vigia console: refresh the page's data at the poll interval, without a reload.
// Every page is complete without this script; it only fetches the same page again and swaps
// its <main> in. It runs no code from the page (the Content-Security-Policy forbids inline
// script) and keeps the reader's scroll position.
"use strict";
(function () {
  var body = document.body;
  var every = parseInt(body.getAttribute("data-refresh") || "0", 10);
  if (!every || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  function offline(on) {
    var note = document.getElementById("offline");
    if (on && !note) {
      note = document.createElement("p");
      note.id = "offline";
      note.className = "freshness stale";
      note.setAttribute("role", "alert");
      note.textContent = "\u26a0 " + body.getAttribute("data-offline");
      var main = document.querySelector("main");
      if (main) {
        main.insertBefore(note, main.firstChild);
      }
    } else if (!on && note) {
      note.parentNode.removeChild(note);
    }
  }
  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main");
        var old = document.querySelector("main");
        if (fresh && old) {
          var x = window.scrollX, y = window.scrollY;
          old.parentNode.replaceChild(document.importNode(fresh, true), old);
          window.scrollTo(x, y);
          document.title = doc.title;
          body.setAttribute("data-refreshed", new Date().toISOString());
        }
        offline(false);
      })
      .catch(function () {
        offline(true);
      })
      .then(function () {
        busy = false;
      });
  }
  window.setInterval(refresh, every * 1000);
})();
