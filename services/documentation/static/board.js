/* The suite board refreshes itself: every data-refresh-s seconds it asks for the rows again (a server-rendered
   fragment, the same one the page was drawn with) and swaps them in, keeping the keyboard focus on the row it was
   on. A failed refresh is said at once, in words ("NOT UPDATING"), never by a silently frozen table. */
(function () {
  "use strict";
  var board = document.querySelector("[data-testid=board]");
  if (!board) { return; }
  var rowsUrl = board.getAttribute("data-rows-url");
  var every = Math.max(5, parseInt(board.getAttribute("data-refresh-s"), 10) || 15) * 1000;
  var body = board.querySelector("[data-testid=board-rows]");
  var updated = board.querySelector("[data-testid=board-updated]");
  var stale = board.querySelector("[data-testid=board-stale]");

  function focusedSession() {
    var active = document.activeElement;
    if (!active || !body.contains(active)) { return null; }
    var row = active.closest("tr[data-session-id]");
    return row ? row.getAttribute("data-session-id") : null;
  }

  function showStale(isStale) {
    stale.hidden = !isStale;
    board.classList.toggle("is-stale", isStale);
  }

  var lastSuccess = Date.now();

  function refresh() {
    var controller = new AbortController();  // a refresh that hangs is a failed one, not a frozen board
    var timer = window.setTimeout(function () { controller.abort(); }, every);
    fetch(rowsUrl, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" },
                     signal: controller.signal })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        var asOf = response.headers.get("X-Board-Updated");
        return response.text().then(function (html) { return { html: html, asOf: asOf }; });
      })
      .then(function (answer) {
        var keep = focusedSession();
        body.innerHTML = answer.html;
        if (keep) {
          var link = body.querySelector('tr[data-session-id="' + CSS.escape(keep) + '"] a.board-open');
          if (link) { link.focus(); }
        }
        if (answer.asOf) { updated.textContent = "Updated " + answer.asOf; }
        lastSuccess = Date.now();
        showStale(false);
      })
      .catch(function () { showStale(true); })
      .then(function () { window.clearTimeout(timer); window.setTimeout(refresh, every); });
  }

  // Whatever happens to the refresh chain, a board not refreshed for three periods says so.
  window.setInterval(function () { if (Date.now() - lastSuccess > 3 * every) { showStale(true); } }, every);
  window.setTimeout(refresh, every);
}());
