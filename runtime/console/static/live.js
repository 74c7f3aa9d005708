// The console's live stream: opens the page's socket and adds a row per
// sighting, newest first, keeping the last 200. Text goes in with
// textContent only, never as markup.
(function () {
  "use strict";
  var state = document.getElementById("live-state");
  var body = document.querySelector("#stream tbody");
  if (!state || !body) { return; }
  var scheme = location.protocol === "https:" ? "wss:" : "ws:";
  var url = scheme + "//" + location.host + state.getAttribute("data-socket");
  var kept = 200;
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
  }
  function add(seen) {
    var row = document.createElement("tr");
    row.className = "sighting " + seen.kind;
    var when = new Date(seen.at_ms || Date.now()).toISOString().replace("T", " ").slice(0, 23);
    cell(row, when);
    if (seen.kind === "event") {
      cell(row, seen.event + (seen.plugin ? " for " + seen.plugin : ""));
      cell(row, seen.platform + ":" + seen.chat + (seen.account && seen.account !== seen.platform ? " (" + seen.account + ")" : ""));
      cell(row, seen.user);
    } else if (seen.kind === "delivery") {
      cell(row, seen.op + " by " + seen.plugin);
      cell(row, seen.platform + ":" + seen.chat);
      cell(row, "");
    } else {
      cell(row, "missed " + seen.missed + " (the stream fell behind)");
      cell(row, "");
      cell(row, "");
    }
    cell(row, seen.text);
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > kept) { body.deleteRow(body.rows.length - 1); }
  }
  function connect() {
    var socket = new WebSocket(url);
    state.textContent = "Connecting…";
    socket.onopen = function () { state.textContent = "Connected: new events appear below as they happen."; };
    socket.onmessage = function (message) {
      try { add(JSON.parse(message.data)); } catch (e) { /* not a sighting */ }
    };
    socket.onclose = function () {
      state.textContent = "Disconnected; trying again in 3 seconds.";
      setTimeout(connect, 3000);
    };
  }
  connect();
})();
