/**
 * The web UI's one script (served as a file: the Content-Security-Policy allows no inline
 * script). Pages work without it; it adds copy buttons and the live event stream.
 */
export const SCRIPT = `
"use strict";
(function () {
  // Copy buttons of "Set me up": rendered hidden, shown once this script runs.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("data-copy") + "-status");
      navigator.clipboard.writeText(source.textContent).then(function () {
        status.textContent = "Copied";
      }, function () {
        status.textContent = "Copy failed: select the text and copy it";
      });
    });
  });

  var list = document.getElementById("event-list");
  if (!list) return;
  var form = document.getElementById("event-filters");
  var toggle = document.getElementById("event-toggle");
  var state = document.getElementById("event-state");
  var lastId = Number(list.getAttribute("data-last-id")) || 0;
  var source = null;
  var paused = false;

  function matches(item) {
    var repo = form.elements.repository.value, type = form.elements.type.value;
    return (!repo || item.getAttribute("data-repository") === repo) && (!type || item.getAttribute("data-type") === type);
  }
  function refilter() {
    list.querySelectorAll("li").forEach(function (item) { item.hidden = !matches(item); });
  }
  function add(data) {
    var item = document.createElement("li");
    item.setAttribute("data-repository", data.remote || "");
    item.setAttribute("data-type", data.type);
    var time = document.createElement("time");
    time.dateTime = data.at;
    time.textContent = new Date(data.at).toLocaleTimeString();
    var type = document.createElement("strong");
    type.textContent = " " + data.type + " ";
    var rest = Object.assign({}, data);
    delete rest.id; delete rest.at; delete rest.type; delete rest.remote;
    var text = document.createElement("span");
    text.className = "mono";
    text.textContent = (data.remote ? data.remote + " " : "") + (rest.path || "") + " " + JSON.stringify(rest);
    item.append(time, type, text);
    item.hidden = !matches(item);
    list.prepend(item);
    while (list.children.length > 500) list.lastElementChild.remove();
  }
  function connect() {
    // Resumes after the last event seen: on a reconnect EventSource sends Last-Event-ID itself.
    source = new EventSource("/ui/events/stream?after=" + lastId);
    source.onopen = function () { state.textContent = "Live"; };
    source.onerror = function () { state.textContent = "Reconnecting…"; };
    source.addEventListener("message", onEvent);
  }
  function onEvent(event) {
    var data = JSON.parse(event.data);
    if (data.id <= lastId) return;
    lastId = data.id;
    add(data);
  }
  form.addEventListener("change", refilter);
  form.addEventListener("submit", function (event) { event.preventDefault(); refilter(); });
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    paused = !paused;
    toggle.textContent = paused ? "Resume" : "Pause";
    toggle.setAttribute("aria-pressed", String(paused));
    if (paused) { source.close(); state.textContent = "Paused"; } else connect();
  });
  connect();
})();
`;
