// AppLinks admin pages. Everything works without this script; it adds live status and tidier menus.
(function () {
  "use strict";

  // Live rows: the server renders the table body for the page's own filters; it replaces the old one when it
  // changed, unless the admin has a menu open in it.
  function follow(table) {
    var body = table.querySelector("tbody");
    var url = table.getAttribute("data-rows-url");
    var last = null;
    function tick() {
      var request = new XMLHttpRequest();
      request.open("GET", url + window.location.search);
      request.setRequestHeader("Accept", "text/html");
      request.onload = function () {
        var count = request.getResponseHeader("X-Link-Count");
        // Only the rows endpoint sends a count: a login page (an ended session) is never put in the table.
        if (request.status === 200 && count !== null) {
          var html = request.responseText;
          if (html !== last && !body.querySelector("details[open]")) {
            body.innerHTML = html;
            last = html;
          }
          var empty = document.getElementById("links-empty");
          if (empty) empty.hidden = count !== "0";
          table.hidden = count === "0";
        }
        window.setTimeout(tick, 1000);
      };
      request.onerror = function () { window.setTimeout(tick, 3000); };
      request.send();
    }
    tick();
  }

  // One menu open at a time; Escape or a click elsewhere closes it.
  function menus() {
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.removeAttribute("open");
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("links-table");
    if (table) follow(table);
    menus();
  });
})();
